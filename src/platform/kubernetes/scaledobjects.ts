// ScaledObjects on the API server: the list+watch source the controller's queue is fed from,
// the status subresource writer and the finalizer writer.

import { GROUP, PLURAL, VERSION } from '../../api/scaledobject.ts';
import type { Logger } from '../../logging.ts';
import {
  ADD,
  DELETE,
  type FinalizerWriter,
  type PlatformResult,
  type ScaledObjectRef,
  type ScaledObjectSource,
  type SourceVerb,
  type StatusPatch,
  type StatusWriter,
  UPDATE,
} from '../ports.ts';
import { type KubeClient, MERGE_PATCH } from './client.ts';
import { ResilientInformer } from './informer.ts';
import type { KubernetesObject } from './object.ts';

const base = `/apis/${GROUP}/${VERSION}`;

export const scaledObjectsPath = (namespace: string | undefined): string =>
  namespace === undefined
    ? `${base}/${PLURAL}`
    : `${base}/namespaces/${encodeURIComponent(namespace)}/${PLURAL}`;

const objectPath = (ref: ScaledObjectRef): string =>
  `${scaledObjectsPath(ref.namespace)}/${encodeURIComponent(ref.name)}`;

const keyOfObject = (o: KubernetesObject): string =>
  `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;

export class KubeScaledObjectSource implements ScaledObjectSource {
  private informer: ResilientInformer | undefined;

  constructor(
    private readonly client: KubeClient,
    private readonly namespace: string | undefined,
    private readonly log: Logger,
  ) {}

  start(onChange: (verb: SourceVerb, key: string) => void): Promise<void> {
    this.informer = new ResilientInformer(this.client, {
      path: scaledObjectsPath(this.namespace),
      log: this.log,
      handlers: {
        add: (o) => onChange(ADD, keyOfObject(o)),
        update: (o) => onChange(UPDATE, keyOfObject(o)),
        delete: (o) => onChange(DELETE, keyOfObject(o)),
      },
    });
    return this.informer.start();
  }

  get(key: string): unknown {
    const slash = key.indexOf('/');
    return this.informer?.get(key.slice(slash + 1), key.slice(0, slash));
  }

  keys(): string[] {
    return (this.informer?.cached() ?? []).map(keyOfObject);
  }

  /** True once the current watch's first list is in the cache (readiness). */
  get hasSynced(): boolean {
    return this.informer?.hasSynced ?? false;
  }

  async stop(): Promise<void> {
    await this.informer?.stop();
  }
}

export class KubeScaledObjectWriter implements StatusWriter, FinalizerWriter {
  constructor(private readonly client: KubeClient) {}

  /** Waits for a token of the client's status pacing (rate-limit.ts), then builds and sends. */
  async patchStatus(
    ref: ScaledObjectRef,
    build: () => StatusPatch | undefined,
  ): Promise<PlatformResult<void>> {
    const pacing = this.client.statusPacing;
    const turn = pacing.take();
    if (turn !== undefined) await turn;
    try {
      const patch = build();
      if (patch === undefined) return { ok: true, value: undefined };
      // metadata.uid in a patch is a precondition: never write onto a recreated namesake.
      const res = await this.client.request('PATCH', `${objectPath(ref)}/status`, {
        body: { metadata: { uid: ref.uid }, status: patch },
        contentType: MERGE_PATCH,
        discardBody: true,
      });
      return res.ok ? { ok: true, value: undefined } : res;
    } finally {
      pacing.done();
    }
  }

  async setFinalizers(
    ref: ScaledObjectRef,
    finalizers: readonly string[],
    resourceVersion: string,
  ): Promise<PlatformResult<void>> {
    const res = await this.client.request('PATCH', objectPath(ref), {
      body: {
        metadata: { uid: ref.uid, resourceVersion, finalizers: finalizers.length > 0 ? finalizers : null },
      },
      contentType: MERGE_PATCH,
    });
    return res.ok ? { ok: true, value: undefined } : res;
  }
}
