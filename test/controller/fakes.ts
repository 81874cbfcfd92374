// Small in-process fakes of the platform ports, for controller unit tests.

import type { ResolvedTrigger } from '../../scalers/index.ts';
import type { Condition } from '../../src/api/scaledobject.ts';
import { Controller, type ControllerOptions } from '../../src/controller/controller.ts';
import { silentLogger } from '../../src/logging.ts';
import type {
  EventRecord,
  EventRecorder,
  EventRegarding,
  FinalizerWriter,
  HpaDefinition,
  HpaEnsured,
  HpaInfo,
  HpaWriter,
  LeaseLock,
  LeaseRecord,
  PlatformResult,
  ScaledObjectRef,
  ScaledObjectSource,
  ScaleTarget,
  SourceVerb,
  StatusPatch,
  StatusWriter,
  TargetRef,
  VersionedLease,
} from '../../src/platform/ports.ts';
import { keyOf } from '../../src/platform/ports.ts';
import type { ReadError, Reading, Scaler } from '../../src/scaler.ts';

type Raw = { metadata: { name: string; namespace: string; [k: string]: unknown }; [k: string]: unknown };

export class FakeSource implements ScaledObjectSource {
  readonly objects = new Map<string, Raw>();
  private onChange: ((verb: SourceVerb, key: string) => void) | undefined;
  private rv = 1;

  async start(onChange: (verb: SourceVerb, key: string) => void): Promise<void> {
    this.onChange = onChange;
  }
  get(key: string): unknown {
    return this.objects.get(key);
  }
  keys(): string[] {
    return [...this.objects.keys()];
  }
  async stop(): Promise<void> {
    this.onChange = undefined;
  }
  /** Adds or replaces an object (bumping resourceVersion) and notifies. */
  put(obj: Raw): string {
    const key = keyOf(obj.metadata);
    const verb = this.objects.has(key) ? 'update' : 'add';
    obj.metadata.resourceVersion = String(++this.rv);
    this.objects.set(key, obj);
    this.onChange?.(verb, key);
    return key;
  }
  remove(key: string): void {
    this.objects.delete(key);
    this.onChange?.('delete', key);
  }
}

export class FakeScaleTarget implements ScaleTarget {
  readonly replicasByTarget = new Map<string, number>();
  readonly writes: { target: string; replicas: number }[] = [];
  reads = 0;
  failReads: string | undefined;

  private static key(ref: TargetRef): string {
    return `${ref.kind}/${ref.namespace}/${ref.name}`;
  }
  set(kindNsName: string, replicas: number): void {
    this.replicasByTarget.set(kindNsName, replicas);
  }
  get(kindNsName: string): number | undefined {
    return this.replicasByTarget.get(kindNsName);
  }
  async replicas(ref: TargetRef): Promise<PlatformResult<number>> {
    this.reads++;
    if (this.failReads !== undefined)
      return { ok: false, error: { reason: 'ApiError', message: this.failReads } };
    const r = this.replicasByTarget.get(FakeScaleTarget.key(ref));
    if (r === undefined) {
      return {
        ok: false,
        error: { reason: 'ScaleTargetNotFound', message: `${ref.kind} ${ref.name} not found`, status: 404 },
      };
    }
    return { ok: true, value: r };
  }
  async scale(ref: TargetRef, replicas: number): Promise<PlatformResult<number>> {
    const key = FakeScaleTarget.key(ref);
    if (!this.replicasByTarget.has(key)) {
      return { ok: false, error: { reason: 'ScaleTargetNotFound', message: 'not found', status: 404 } };
    }
    this.replicasByTarget.set(key, replicas);
    this.writes.push({ target: key, replicas });
    return { ok: true, value: replicas };
  }
  forget(): void {}
}

export class FakeStatusWriter implements StatusWriter, FinalizerWriter {
  readonly patches: { key: string; patch: StatusPatch }[] = [];
  readonly finalizerWrites: { key: string; finalizers: readonly string[] }[] = [];

  constructor(private readonly source: FakeSource) {}

  async patchStatus(
    ref: ScaledObjectRef,
    build: () => StatusPatch | undefined,
  ): Promise<PlatformResult<void>> {
    const patch = build();
    if (patch !== undefined) this.patches.push({ key: keyOf(ref), patch });
    return { ok: true, value: undefined };
  }
  async setFinalizers(ref: ScaledObjectRef, finalizers: readonly string[]): Promise<PlatformResult<void>> {
    const key = keyOf(ref);
    this.finalizerWrites.push({ key, finalizers });
    const obj = this.source.objects.get(key);
    if (obj !== undefined) {
      const next = { ...obj, metadata: { ...obj.metadata, finalizers: [...finalizers] } };
      if (finalizers.length === 0 && obj.metadata.deletionTimestamp !== undefined) this.source.remove(key);
      else this.source.put(next);
    }
    return { ok: true, value: undefined };
  }
}

/** HPAs in memory: ebb's (with their definition) and foreign ones (a name on a target). */
export class FakeHpaWriter implements HpaWriter {
  /** `namespace/name` → the definition ebb last wrote, with its owner's uid. */
  readonly hpas = new Map<string, HpaDefinition>();
  /** `namespace/name` → a foreign HPA's target (`Kind/namespace/name`). */
  readonly foreign = new Map<string, string>();
  readonly writes: { verb: 'create' | 'update' | 'delete'; key: string }[] = [];
  fail: string | undefined;

  async findForTarget(target: TargetRef): Promise<PlatformResult<HpaInfo[]>> {
    if (this.fail !== undefined) return { ok: false, error: { reason: 'ApiError', message: this.fail } };
    const want = `${target.kind}/${target.namespace}/${target.name}`;
    const found: HpaInfo[] = [];
    for (const [key, def] of this.hpas) {
      if (`${def.target.kind}/${def.target.namespace}/${def.target.name}` === want)
        found.push({ name: key.slice(key.indexOf('/') + 1), controllerUid: def.owner.uid });
    }
    for (const [key, t] of this.foreign) {
      if (t === want) found.push({ name: key.slice(key.indexOf('/') + 1), controllerUid: undefined });
    }
    return { ok: true, value: found };
  }
  async ensure(hpa: HpaDefinition): Promise<PlatformResult<HpaEnsured>> {
    if (this.fail !== undefined) return { ok: false, error: { reason: 'ApiError', message: this.fail } };
    const key = `${hpa.owner.namespace}/${hpa.name}`;
    if (this.foreign.has(key))
      return { ok: false, error: { reason: 'HPAConflict', message: 'not ours', status: 409 } };
    const live = this.hpas.get(key);
    if (live !== undefined && JSON.stringify(live) === JSON.stringify(hpa))
      return { ok: true, value: 'unchanged' };
    this.hpas.set(key, hpa);
    this.writes.push({ verb: live === undefined ? 'create' : 'update', key });
    return { ok: true, value: live === undefined ? 'created' : 'updated' };
  }
  async delete(namespace: string, name: string, ownerUid: string): Promise<PlatformResult<boolean>> {
    if (this.fail !== undefined) return { ok: false, error: { reason: 'ApiError', message: this.fail } };
    const key = `${namespace}/${name}`;
    if (this.hpas.get(key)?.owner.uid !== ownerUid) return { ok: true, value: false };
    this.hpas.delete(key);
    this.writes.push({ verb: 'delete', key });
    return { ok: true, value: true };
  }
}

export class FakeEvents implements EventRecorder {
  readonly events: (EventRecord & { key: string })[] = [];
  record(regarding: EventRegarding, event: EventRecord): void {
    this.events.push({ ...event, key: keyOf(regarding) });
  }
  async flush(): Promise<void> {}
  reasons(): string[] {
    return this.events.map((e) => e.reason);
  }
}

export class FakeLease implements LeaseLock {
  readonly description = 'test/lease';
  lease: VersionedLease | undefined;
  private version = 0;
  down = false;
  async get(): Promise<PlatformResult<VersionedLease | undefined>> {
    if (this.down) return { ok: false, error: { reason: 'Unreachable', message: 'down' } };
    return { ok: true, value: this.lease };
  }
  async create(record: LeaseRecord): Promise<PlatformResult<VersionedLease>> {
    if (this.down) return { ok: false, error: { reason: 'Unreachable', message: 'down' } };
    if (this.lease !== undefined)
      return { ok: false, error: { reason: 'Conflict', message: 'exists', status: 409 } };
    this.lease = { record, version: String(++this.version) };
    return { ok: true, value: this.lease };
  }
  async update(record: LeaseRecord, version: string): Promise<PlatformResult<VersionedLease>> {
    if (this.down) return { ok: false, error: { reason: 'Unreachable', message: 'down' } };
    if (this.lease?.version !== version)
      return { ok: false, error: { reason: 'Conflict', message: 'moved', status: 409 } };
    this.lease = { record, version: String(++this.version) };
    return { ok: true, value: this.lease };
  }
}

import { settle, VirtualClock } from '../clock.ts';

export { settle, VirtualClock } from '../clock.ts';

/** A scaler returning scripted readings, one per read (the last repeats). */
export class ScriptedScaler implements Scaler {
  reads = 0;
  closed = false;
  constructor(
    readonly metric: Scaler['metric'],
    private readonly script: (
      n: number,
      now: Date,
    ) => { ok: true; value: Reading } | { ok: false; error: ReadError },
  ) {}
  async read(now: Date): Promise<{ ok: true; value: Reading } | { ok: false; error: ReadError }> {
    return this.script(this.reads++, now);
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

export interface Harness {
  readonly source: FakeSource;
  readonly target: FakeScaleTarget;
  readonly writer: FakeStatusWriter;
  readonly events: FakeEvents;
  readonly clock: VirtualClock;
  readonly controller: Controller;
  readonly scalers: ScriptedScaler[];
}

export const harness = (
  opts: {
    start?: number;
    script?: (resolved: ResolvedTrigger) => ScriptedScaler;
    /** The clock fires timers on `advance` (retry backoff, scheduled polls); default false. */
    firesTimers?: boolean;
  } & Partial<ControllerOptions> = {},
): Harness => {
  const source = new FakeSource();
  const target = new FakeScaleTarget();
  const writer = new FakeStatusWriter(source);
  const events = new FakeEvents();
  // Tests poll by hand (pollNow); the scheduler's timers stay armed but never fire unless asked.
  const clock = new VirtualClock(opts.start ?? Date.parse('2025-01-06T10:00:00Z'), opts.firesTimers ?? false);
  const scalers: ScriptedScaler[] = [];
  const script = opts.script;
  const controller = new Controller({
    source,
    scaleTarget: target,
    status: writer,
    finalizers: writer,
    events,
    log: silentLogger,
    clock,
    random: () => 0,
    ...(script === undefined
      ? {}
      : {
          createScaler: (resolved: ResolvedTrigger) => {
            const s = script(resolved);
            scalers.push(s);
            return s;
          },
        }),
    ...opts,
  });
  return { source, target, writer, events, clock, controller, scalers };
};

/** A valid ScaledObject with one cron trigger (its scaler is usually replaced by a script). */
export const scaledObject = (
  name: string,
  opts: {
    namespace?: string;
    target?: string;
    uid?: string;
    created?: string;
    generation?: number;
    annotations?: Record<string, string>;
    spec?: Record<string, unknown>;
    triggers?: unknown[];
    finalizers?: string[];
    deletionTimestamp?: string;
    status?: Record<string, unknown>;
  } = {},
): Raw => ({
  apiVersion: 'autoscaling.ebb.dev/v1alpha1',
  kind: 'ScaledObject',
  metadata: {
    name,
    namespace: opts.namespace ?? 'ns',
    uid: opts.uid ?? `uid-${name}`,
    generation: opts.generation ?? 1,
    creationTimestamp: opts.created ?? '2025-01-06T10:00:00Z',
    ...(opts.annotations === undefined ? {} : { annotations: opts.annotations }),
    ...(opts.finalizers === undefined ? {} : { finalizers: opts.finalizers }),
    ...(opts.deletionTimestamp === undefined ? {} : { deletionTimestamp: opts.deletionTimestamp }),
  },
  spec: {
    scaleTargetRef: { name: opts.target ?? name },
    pollingInterval: 1,
    cooldownPeriod: 5,
    triggers: opts.triggers ?? [
      {
        type: 'cron',
        metadata: { timezone: 'Etc/UTC', start: '0 6 * * *', end: '0 20 * * *', desiredReplicas: '3' },
      },
    ],
    ...opts.spec,
  },
  ...(opts.status === undefined ? {} : { status: opts.status }),
});

/**
 * A large valid arithmetic formula over trigger `q`, 166 terms (about 2,000 characters): as
 * costly as admission accepts once issue 11's formula budget is in (995 of its 1,000 steps as
 * branch i11-formula estimates them). The isolation test and the controller bench give it to
 * their hostile object.
 */
export const LARGE_FORMULA = Array.from({ length: 166 }, (_, i) => `max(q, ${i % 10})`).join(' + ');

export const reading = (value: number, active = value > 0): { ok: true; value: Reading } => ({
  ok: true,
  value: { value, active },
});

/** The newest condition of `type` among the status patches (of object `key`, when given). */
export const condition = (
  patches: readonly { key?: string; patch: StatusPatch }[],
  type: string,
  key?: string,
): Condition | undefined => {
  for (let i = patches.length - 1; i >= 0; i--) {
    const p = patches[i];
    if (key !== undefined && p?.key !== key) continue;
    const c = p?.patch.conditions?.find((x) => x.type === type);
    if (c !== undefined) return c;
  }
  return undefined;
};

/** Retries `check` (settling the event loop between tries) until it passes or `ms` run out. */
export const eventually = async (check: () => void, ms = 2000): Promise<void> => {
  const end = Date.now() + ms;
  for (;;) {
    try {
      check();
      return;
    } catch (err) {
      if (Date.now() > end) throw err;
      await settle();
    }
  }
};
