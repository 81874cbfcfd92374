// The controller: informer events → de-duplicating work queue → reconcile workers; the poll
// scheduler → one poll per ScaledObject per pollingInterval. All I/O goes through the ports.

import { createScalerDeps, type ResolvedTrigger, type ScalerDeps } from '../../scalers/index.ts';
import { ScaleTargetRefSchema } from '../api/scaledobject.ts';
import { type Clock, realClock } from '../clock.ts';
import type { Logger } from '../logging.ts';
import type { TriggerAuthResolver } from '../platform/auth.ts';
import {
  type EventRecorder,
  type FinalizerWriter,
  type HpaWriter,
  type ScaledObjectSource,
  type ScaleTarget,
  type StatusPatch,
  type StatusWriter,
  targetKeyOf,
} from '../platform/ports.ts';
import type { Scaler } from '../scaler.ts';
import { triggerAuthUsers } from './live-triggers.ts';
import { stopLoop } from './loop-lifecycle.ts';
import { type ControllerObserver, noopObserver } from './observer.ts';
import { type PollContext, pollOnce } from './poll.ts';
import { reconcile } from './reconcile.ts';
import type { ReconcileContext } from './reconcile-context.ts';
import { loadRouteClaims, type RouteClaims, type ServicePortView } from './route-claims.ts';
import { PollScheduler } from './scheduler.ts';
import { applyPatch, mergeChanges, type StatusChange, statusPatch } from './status.ts';
import { TargetClaims } from './target-claims.ts';
import { type Tracked, targetRefOf } from './tracked.ts';
import { WorkQueue } from './work-queue.ts';

export interface ControllerOptions {
  readonly source: ScaledObjectSource;
  readonly scaleTarget: ScaleTarget;
  readonly status: StatusWriter;
  readonly finalizers: FinalizerWriter;
  readonly events: EventRecorder;
  readonly log: Logger;
  /** Polls in flight at once (`--max-concurrent-polls`); default 256. */
  readonly maxConcurrentPolls?: number;
  /** Reconciles in flight at once; default 8. */
  readonly workers?: number;
  /**
   * A poll's deadline (`--poll-timeout`): trigger reads, target reads and writes not settled by
   * then count as failed and the poll ends; default DEFAULT_POLL_TIMEOUT_MS.
   */
  readonly pollTimeoutMs?: number;
  readonly clock?: Clock;
  readonly random?: () => number;
  /** Called as each poll starts with how late it is (metrics, the benchmark). */
  readonly onPollStart?: (key: string, latenessMs: number) => void;
  /** Builds a trigger's scaler; default: the registry's (`resolved.create(scalerDeps)`). */
  readonly createScaler?: (resolved: ResolvedTrigger) => Scaler;
  /**
   * What this controller's scalers share (connection pools, the activators' feed), built once in
   * wiring; default: fresh ones without a feed (`createScalerDeps()`), shared with no one.
   */
  readonly scalerDeps?: ScalerDeps;
  /** What the activators see of Service ports (route claims judge named ports by it). */
  readonly servicePorts?: ServicePortView;
  /** Resolves triggers' authenticationRefs; a change it reports reconciles the objects using it. */
  readonly triggerAuth?: TriggerAuthResolver;
  /** HPA mode's HorizontalPodAutoscalers (docs/hpa-mode.md); without it HPA mode is refused. */
  readonly hpa?: HpaWriter;
  /** Told about every poll, pause and removal (Prometheus metrics, the metrics adapter). */
  readonly observer?: ControllerObserver;
}

/** A poll's deadline when `--poll-timeout` is not given: the 10 s trigger reads always had. */
export const DEFAULT_POLL_TIMEOUT_MS = 10_000;

export interface ControllerStats {
  polls: number;
  reconciles: number;
  statusWrites: number;
}

/** writeStatus's answer when there is nothing to write (shared: it holds nothing). */
const NOTHING_WRITTEN: Promise<void> = Promise.resolve();

export class Controller {
  readonly stats: ControllerStats = { polls: 0, reconciles: 0, statusWrites: 0 };
  private readonly queue: WorkQueue;
  private readonly tracked = new Map<string, Tracked>();
  private readonly claims = new TargetClaims();
  private readonly scheduler: PollScheduler;
  private readonly clock: Clock;
  private readonly reconcileCtx: ReconcileContext;
  private readonly pollCtx: PollContext;
  private workers: Promise<void>[] = [];
  private stopped = false;
  /** Objects with a poke whose poll has not started yet. */
  private readonly poked = new Set<string>();
  private unsubscribeAuth: (() => void) | undefined;
  private routeClaims: { readonly claims: RouteClaims; readonly stop: () => void } | undefined;

  constructor(private readonly opts: ControllerOptions) {
    this.clock = opts.clock ?? realClock;
    this.queue = new WorkQueue(this.clock);
    const observer = opts.observer ?? noopObserver;
    const now = () => this.clock.wallNow();
    this.scheduler = new PollScheduler({
      maxConcurrent: opts.maxConcurrentPolls ?? 256,
      run: (key) => this.poll(key),
      clock: this.clock,
      ...(opts.random === undefined ? {} : { random: opts.random }),
      onStart: (key, latenessMs) => {
        opts.onPollStart?.(key, latenessMs);
        const { namespace, name } = this.tracked.get(key)?.ref ?? {};
        if (namespace !== undefined && name !== undefined) observer.pollStarted(namespace, name, latenessMs);
      },
    });
    const writeStatus = (t: Tracked, change: StatusChange) => this.writeStatus(t, change);
    const scalerDeps = opts.scalerDeps ?? createScalerDeps({ clock: this.clock });
    const createScaler = opts.createScaler ?? ((resolved: ResolvedTrigger) => resolved.create(scalerDeps));
    this.reconcileCtx = {
      source: opts.source,
      scaleTarget: opts.scaleTarget,
      finalizers: opts.finalizers,
      events: opts.events,
      scheduler: this.scheduler,
      claims: this.claims,
      tracked: this.tracked,
      log: opts.log,
      now,
      createScaler,
      triggerAuth: opts.triggerAuth,
      hpa: opts.hpa,
      observer,
      routeClaims: () => {
        this.routeClaims ??= loadRouteClaims(
          opts.source,
          (keys) => {
            for (const k of keys) this.reconcileCtx.enqueue(k);
          },
          opts.servicePorts,
        );
        return this.routeClaims.claims;
      },
      writeStatus,
      enqueue: (key) => {
        const t = this.tracked.get(key);
        if (t !== undefined) t.force = true;
        this.queue.add(key);
      },
      retry: (key) => {
        const t = this.tracked.get(key);
        if (t !== undefined) t.force = true;
        const failures = t === undefined ? 1 : ++t.failures;
        this.queue.addAfter(key, Math.min(100 * 2 ** Math.min(failures, 9), 30_000));
      },
    };
    this.pollCtx = {
      scaleTarget: opts.scaleTarget,
      events: opts.events,
      now,
      clock: this.clock,
      pollTimeoutMs: opts.pollTimeoutMs ?? DEFAULT_POLL_TIMEOUT_MS,
      createScaler,
      observer,
      writeStatus,
    };
  }

  /** Lists and watches ScaledObjects, then reconciles each one and starts polling. */
  async start(): Promise<void> {
    this.unsubscribeAuth = this.opts.triggerAuth?.onChange((namespace, name, kind) => {
      for (const key of triggerAuthUsers(this.opts.source, namespace, name, kind))
        this.reconcileCtx.enqueue(key);
    });
    await this.opts.source.start((_verb, key) => this.queue.add(key));
    if (this.stopped) return;
    // Index every cached object's target before reconciling any, so that of two objects on one
    // target the older one wins from the first reconcile, whatever order the queue has.
    for (const key of this.opts.source.keys()) this.preclaim(key);
    for (const key of this.opts.source.keys()) this.queue.add(key);
    const n = this.opts.workers ?? 8;
    for (let i = 0; i < n; i++) this.workers.push(this.work());
    this.opts.log.info({ objects: this.opts.source.keys().length }, 'controller started');
  }

  /** Stops polling and reconciling, closes every scaler, flushes Events. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.unsubscribeAuth?.();
    this.routeClaims?.stop();
    this.queue.shutDown();
    await this.opts.source.stop();
    await Promise.all(this.workers);
    await this.scheduler.stop();
    for (const t of this.tracked.values()) stopLoop(this.reconcileCtx, t);
    this.tracked.clear();
    this.claims.clear();
    await this.opts.events.flush();
    this.opts.log.info('controller stopped');
  }

  /** Number of objects being polled. */
  get polling(): number {
    return this.scheduler.size;
  }

  /** Objects waiting to be reconciled. */
  get pending(): number {
    return this.queue.length;
  }

  /** Runs one reconcile now (tests). */
  reconcileNow(key: string): Promise<void> {
    return reconcile(this.reconcileCtx, key);
  }

  /** Runs one poll now (tests). */
  pollNow(key: string): Promise<void> {
    return this.poll(key);
  }

  /**
   * Polls `key` at once instead of at its next pollingInterval: the activator's cold-start hook
   * (a request is held for it). Pokes that arrive before that poll starts share it; a poll in
   * flight is waited for first (it may have read the counters before the held request), and
   * polls of one object never overlap, so a cold start costs one scale write.
   */
  poke(key: string): void {
    if (this.stopped || this.poked.has(key)) return;
    const loop = this.tracked.get(key)?.loop;
    if (loop === undefined || loop.closed) return;
    this.poked.add(key);
    // The flag clears as the poll starts (inside poll, synchronously): later pokes poll again.
    void this.poll(key, () => this.poked.delete(key));
  }

  private preclaim(key: string): void {
    const raw = this.opts.source.get(key) as
      | {
          metadata?: { creationTimestamp?: unknown; name?: unknown; namespace?: unknown };
          spec?: { scaleTargetRef?: unknown };
        }
      | undefined;
    const ref = ScaleTargetRefSchema.safeParse(raw?.spec?.scaleTargetRef);
    const namespace = raw?.metadata?.namespace;
    const name = raw?.metadata?.name;
    if (!ref.success || typeof namespace !== 'string' || typeof name !== 'string') return;
    const created = raw?.metadata?.creationTimestamp;
    const target = targetRefOf(
      { spec: { scaleTargetRef: ref.data } } as Parameters<typeof targetRefOf>[0],
      namespace,
    );
    this.claims.claim({
      key,
      targetKey: targetKeyOf(target),
      createdAt: typeof created === 'string' ? Date.parse(created) : Number.NaN,
      name,
    });
  }

  private async work(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      try {
        this.stats.reconciles++;
        const failuresBefore = this.tracked.get(key)?.failures;
        await reconcile(this.reconcileCtx, key);
        // Back off only while reconcile keeps asking for a retry (ctx.retry counts up); a
        // reconcile that asked for none succeeded, and the next failure starts from 100 ms again.
        const t = this.tracked.get(key);
        if (t !== undefined && t.failures === (failuresBefore ?? 0)) t.failures = 0;
      } catch (err) {
        // Reconcile turns errors into values; this is the last line against a bug.
        this.opts.log.error({ key, err: err instanceof Error ? err.stack : String(err) }, 'reconcile failed');
        this.reconcileCtx.retry(key);
      } finally {
        this.queue.done(key);
      }
    }
  }

  private async poll(key: string, onStart?: () => void): Promise<void> {
    const t = this.tracked.get(key);
    const loop = t?.loop;
    if (t === undefined || loop === undefined || loop.closed) {
      onStart?.();
      return;
    }
    // A scheduled poll and a poke's may meet: one after the other, never both at once.
    while (loop.inFlight !== undefined && !loop.closed) await loop.inFlight;
    onStart?.();
    if (loop.closed || this.stopped) return;
    this.stats.polls++;
    const p = pollOnce(this.pollCtx, t, loop).catch((err: unknown) => {
      t.log.error({ err: err instanceof Error ? err.stack : String(err) }, 'poll failed');
    });
    loop.inFlight = p;
    await p;
    if (loop.inFlight === p) loop.inFlight = undefined;
  }

  /**
   * Patches only what differs from the status ebb last wrote. One write per object at a time and
   * at most one whose patch is not built yet: a change arriving meanwhile merges into that one
   * (the later value wins), whether it waits behind the write in flight or for its turn at the
   * writer (status writes are paced). So a status API that stops answering, or a first round
   * over 50,000 objects, holds at most one small pending change per object, not a patch, body
   * and request per write; and reconcile's write and the first poll's, both waiting, go as one.
   */
  private writeStatus(t: Tracked, change: StatusChange): Promise<void> {
    const queued = t.queuedStatus;
    if (queued !== undefined) {
      queued.change = mergeChanges(queued.change, change);
      return queued.done;
    }
    const writing = t.writing;
    // Most polls change nothing: they take no turn at the writer, whose pacing (a token per
    // write) would otherwise hold every poll to --status-write-qps. The patch is built again
    // when the turn comes (merging later changes); this one only decides whether to ask.
    if (writing === undefined) {
      const all = t.deferred === undefined ? change : mergeChanges(t.deferred, change);
      if (statusPatch(t.status, all, t.generation, new Date(this.clock.wallNow())) === undefined) {
        t.deferred = undefined;
        return NOTHING_WRITTEN;
      }
    }
    const next: { change: StatusChange; done: Promise<void> } = { change, done: NOTHING_WRITTEN };
    t.queuedStatus = next;
    next.done = writing === undefined ? this.writeNow(t, next) : writing.then(() => this.writeNow(t, next));
    return next.done;
  }

  /** Hands `next` to the writer, which builds its patch (and stops it absorbing changes) when its turn comes. */
  private async writeNow(t: Tracked, next: { change: StatusChange }): Promise<void> {
    let deferred: StatusChange | undefined;
    let patch: StatusPatch | undefined;
    const build = (): StatusPatch | undefined => {
      if (t.queuedStatus === next) t.queuedStatus = undefined;
      deferred = t.deferred;
      t.deferred = undefined;
      const all = deferred === undefined ? next.change : mergeChanges(deferred, next.change);
      patch = statusPatch(t.status, all, t.generation, new Date(this.clock.wallNow()));
      return patch;
    };
    const p = this.opts.status.patchStatus(t.ref, build).then((res) => {
      if (res.ok) {
        if (patch === undefined) return;
        this.stats.statusWrites++;
        t.status = applyPatch(t.status, patch);
      } else {
        // Polls recompute what they want every time; a reconcile's wish is kept for the next write.
        if (deferred !== undefined)
          t.deferred = t.deferred === undefined ? deferred : mergeChanges(deferred, t.deferred);
        t.log.warn({ err: res.error.message }, 'cannot write status');
      }
    });
    t.writing = p;
    try {
      await p;
    } finally {
      if (t.writing === p) t.writing = undefined;
      // Not built (build threw): later changes must not merge into a write that is over.
      if (t.queuedStatus === next) t.queuedStatus = undefined;
    }
  }
}
