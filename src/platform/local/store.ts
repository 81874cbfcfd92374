// The ScaledObjects of `ebb local`: the file's objects held in memory, as the API server would
// hold them (uid, resourceVersion, generation, creationTimestamp filled in). The controller
// reads them through ScaledObjectSource and writes status and finalizers back here; nothing
// else changes them while ebb runs.

import { randomUUID } from 'node:crypto';
import type { ScaledObjectStatus } from '../../api/scaledobject.ts';
import { realClock } from '../../clock.ts';
import {
  ADD,
  Conflict,
  type FinalizerWriter,
  keyOf,
  NotFound,
  type PlatformError,
  type PlatformResult,
  type ScaledObjectRef,
  type ScaledObjectSource,
  type SourceVerb,
  type StatusPatch,
  type StatusWriter,
} from '../ports.ts';

type Raw = Record<string, unknown> & { metadata: Record<string, unknown>; status?: Record<string, unknown> };

export class LocalScaledObjectStore implements ScaledObjectSource, StatusWriter, FinalizerWriter {
  private readonly objects = new Map<string, Raw>();
  private version = 1;

  /** `objects`: raw ScaledObjects with `metadata.name` and `metadata.namespace` set. */
  constructor(objects: readonly Record<string, unknown>[], now: Date = new Date(realClock.wallNow())) {
    for (const raw of objects) {
      const metadata = (raw.metadata ?? {}) as Record<string, unknown>;
      const stored: Raw = {
        ...raw,
        metadata: {
          ...metadata,
          uid: randomUUID(),
          generation: 1,
          resourceVersion: String(this.version++),
          creationTimestamp: now.toISOString(),
        },
      };
      this.objects.set(`${String(metadata.namespace)}/${String(metadata.name)}`, stored);
    }
  }

  async start(onChange: (verb: SourceVerb, key: string) => void): Promise<void> {
    for (const key of this.objects.keys()) onChange(ADD, key);
  }

  get(key: string): unknown {
    return this.objects.get(key);
  }

  keys(): string[] {
    return [...this.objects.keys()];
  }

  async stop(): Promise<void> {}

  /** The status as the controller last wrote it. */
  status(key: string): ScaledObjectStatus | undefined {
    return this.objects.get(key)?.status as ScaledObjectStatus | undefined;
  }

  async patchStatus(
    ref: ScaledObjectRef,
    build: () => StatusPatch | undefined,
  ): Promise<PlatformResult<void>> {
    const patch = build();
    if (patch === undefined) return { ok: true, value: undefined };
    const key = keyOf(ref);
    const o = this.objects.get(key);
    if (o === undefined || o.metadata.uid !== ref.uid) return notFound(key);
    const status: Record<string, unknown> = { ...(o.status ?? {}) };
    for (const [field, value] of Object.entries(patch)) {
      if (value === null) delete status[field];
      else if (value !== undefined) status[field] = value;
    }
    this.objects.set(key, {
      ...o,
      status,
      metadata: { ...o.metadata, resourceVersion: String(this.version++) },
    });
    return { ok: true, value: undefined };
  }

  async setFinalizers(
    ref: ScaledObjectRef,
    finalizers: readonly string[],
    resourceVersion: string,
  ): Promise<PlatformResult<void>> {
    const key = keyOf(ref);
    const o = this.objects.get(key);
    if (o === undefined || o.metadata.uid !== ref.uid) return notFound(key);
    if (o.metadata.resourceVersion !== resourceVersion) {
      return { ok: false, error: { reason: Conflict, message: `ScaledObject ${key} changed`, status: 409 } };
    }
    const metadata: Record<string, unknown> = { ...o.metadata, resourceVersion: String(this.version++) };
    if (finalizers.length > 0) metadata.finalizers = [...finalizers];
    else delete metadata.finalizers;
    this.objects.set(key, { ...o, metadata });
    return { ok: true, value: undefined };
  }
}

const notFound = (key: string): { ok: false; error: PlatformError & { status: number } } => ({
  ok: false,
  error: { reason: NotFound, message: `ScaledObject ${key} not found`, status: 404 },
});
