// A poll's deadline (`--poll-timeout`): every call a poll makes to the world is bounded by it,
// and a call left behind is never repeated while it is pending. A 100 ms deadline on virtual
// time: a poll is started, the clock moved past its deadline, then the poll awaited. The first
// scheduled poll is due 1 s after reconcile (jitter 1), later than any of these tests moves.
import { describe, expect, it } from 'vitest';
import type { PollObservation } from '../../src/controller/observer.ts';
import { noopObserver } from '../../src/controller/observer.ts';
import type { PlatformResult, ScaledObjectRef, StatusPatch, TargetRef } from '../../src/platform/ports.ts';
import type { Scaler } from '../../src/scaler.ts';
import { settle } from '../clock.ts';
import {
  condition,
  FakeScaleTarget,
  FakeSource,
  FakeStatusWriter,
  type Harness,
  harness,
  reading,
  ScriptedScaler,
  scaledObject,
} from './fakes.ts';

const KEY = 'ns/app';
const TARGET = 'Deployment/ns/app';
const DEADLINE = 100;

/** A call that answers when `release` is called (never, unless it is). */
const gate = <T>() => {
  let release: (value: T) => void = () => {};
  const promise = new Promise<T>((resolve) => {
    release = resolve;
  });
  return { promise, release: (value: T) => release(value) };
};

/** A harness whose clock fires the poll deadline; scheduled polls come 1 s after reconcile. */
const onDeadline = (opts: Parameters<typeof harness>[0]): Harness =>
  harness({ firesTimers: true, random: () => 1, pollTimeoutMs: DEADLINE, ...opts });

/** One poll by hand, with the clock moved past its deadline while it runs. */
const pollPastDeadline = async (h: Harness): Promise<void> => {
  const poll = h.controller.pollNow(KEY);
  await h.clock.advance(DEADLINE);
  await poll;
};

/** `app` reconciled through `writer`, then polled five times past the deadline, reading 1 … 5. */
const fivePolls = async (source: FakeSource, writer: FakeStatusWriter): Promise<Harness> => {
  let value = 0;
  const h = onDeadline({
    source,
    status: writer,
    finalizers: writer,
    script: (resolved) => new ScriptedScaler(resolved.metric, () => reading(value)),
  });
  h.target.set(TARGET, 0);
  source.put(scaledObject('app'));
  await h.controller.reconcileNow(KEY);
  for (value = 1; value <= 5; value++) await pollPastDeadline(h); // each poll ends
  return h;
};

/** A controller whose only object `app` (one trigger reading 2) targets `target`; reconciled. */
const onTarget = async (target: FakeScaleTarget) => {
  const h = onDeadline({
    scaleTarget: target,
    script: (resolved) => new ScriptedScaler(resolved.metric, () => reading(2)),
  });
  target.set(TARGET, 0);
  h.source.put(scaledObject('app'));
  await h.controller.reconcileNow(KEY);
  return h;
};

const cron = (name: string) => ({
  type: 'cron',
  name,
  metadata: { timezone: 'Etc/UTC', start: '0 6 * * *', end: '0 20 * * *', desiredReplicas: '3' },
});

describe('a poll ends by its deadline', () => {
  it('a trigger that answered keeps its reading when another one times out', async () => {
    const polls: PollObservation[] = [];
    const h = onDeadline({
      observer: { ...noopObserver, polled: (o) => polls.push(o) },
      createScaler: (resolved): Scaler =>
        resolved.key === 'silent'
          ? { metric: resolved.metric, read: () => new Promise(() => {}), close: async () => {} }
          : new ScriptedScaler(resolved.metric, () => reading(4)),
    });
    h.target.set(TARGET, 1);
    h.source.put(scaledObject('app', { triggers: [cron('silent'), cron('answers')] }));
    await h.controller.reconcileNow(KEY);
    await pollPastDeadline(h);
    const triggers = polls[0]?.triggers ?? [];
    expect(triggers.map((t) => [t.trigger, 'value' in t ? t.value : t.error?.reason])).toEqual([
      ['silent', 'ScalerTimeout'],
      ['answers', 4],
    ]);
    // With one trigger failing, only a scale up from the healthy one is applied: 1 → 4.
    expect(h.target.get(TARGET)).toBe(4);
    expect(condition(h.writer.patches, 'Ready')?.message).toMatch(/no reading within 100 ms/);
  });

  it('a target read that does not answer: ScaleTargetTimeout, and the next poll waits for the same read', async () => {
    class SlowTarget extends FakeScaleTarget {
      hanging = true;
      readonly calls: ReturnType<typeof gate<PlatformResult<number>>>[] = [];
      override replicas(ref: TargetRef): Promise<PlatformResult<number>> {
        if (!this.hanging) return super.replicas(ref);
        const call = gate<PlatformResult<number>>();
        this.calls.push(call);
        return call.promise;
      }
    }
    const target = new SlowTarget();
    const h = await onTarget(target);
    await pollPastDeadline(h);
    await pollPastDeadline(h);
    expect(target.calls).toHaveLength(1); // one read out at a time
    expect(h.events.reasons()).toEqual(['ScaleTargetTimeout']); // one Event for the episode
    expect(condition(h.writer.patches, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'ScaleTargetTimeout',
      message: 'reading the replicas of Deployment ns/app: no answer within 100 ms',
    });
    target.hanging = false;
    target.calls[0]?.release({ ok: true, value: 0 });
    await pollPastDeadline(h); // the API answers again: this poll activates
    expect(target.writes).toEqual([{ target: TARGET, replicas: 1 }]);
    expect(condition(h.writer.patches, 'Ready')?.reason).toBe('ScaledObjectReady');
  });

  it('a scale write that does not answer: ScaleTargetTimeout, and no second write until it settles', async () => {
    class SlowWrites extends FakeScaleTarget {
      readonly calls: ReturnType<typeof gate<PlatformResult<number>>>[] = [];
      override scale(_ref: TargetRef, replicas: number): Promise<PlatformResult<number>> {
        const call = gate<PlatformResult<number>>();
        this.calls.push(call);
        this.writes.push({ target: TARGET, replicas });
        return call.promise;
      }
    }
    const target = new SlowWrites();
    const h = await onTarget(target);
    await pollPastDeadline(h);
    await pollPastDeadline(h);
    await pollPastDeadline(h);
    expect(target.writes).toEqual([{ target: TARGET, replicas: 1 }]);
    const warning = h.events.events.find((e) => e.reason === 'ScaleTargetTimeout');
    expect(warning?.note).toBe(
      'cannot scale Deployment ns/app to 1: scaling Deployment ns/app to 1 (it may still land): no answer within 100 ms',
    );
    target.calls[0]?.release({ ok: true, value: 1 });
    await settle();
    await pollPastDeadline(h);
    expect(target.writes).toHaveLength(2);
  });

  it('a status API that does not answer holds one queued write per object, not one per poll', async () => {
    class SlowStatus extends FakeStatusWriter {
      readonly calls: ReturnType<typeof gate<PlatformResult<void>>>[] = [];
      override patchStatus(
        ref: ScaledObjectRef,
        build: () => StatusPatch | undefined,
      ): Promise<PlatformResult<void>> {
        void super.patchStatus(ref, build);
        const call = gate<PlatformResult<void>>();
        this.calls.push(call);
        return call.promise;
      }
    }
    const source = new FakeSource();
    const writer = new SlowStatus(source);
    await fivePolls(source, writer);
    expect(writer.calls).toHaveLength(1); // the first write, still out; the others wait merged
    writer.calls[0]?.release({ ok: true, value: undefined });
    await settle();
    expect(writer.calls).toHaveLength(2); // one write carries what five polls wanted
    expect(writer.patches.at(-1)?.patch.desiredReplicas).toBe(5);
  });

  it('a write waiting for its turn (paced) holds no patch and absorbs later changes', async () => {
    /** A paced writer: each write waits for `turns[i]` before it builds its patch. */
    class PacedStatus extends FakeStatusWriter {
      readonly turns: ReturnType<typeof gate<undefined>>[] = [];
      override async patchStatus(
        ref: ScaledObjectRef,
        build: () => StatusPatch | undefined,
      ): Promise<PlatformResult<void>> {
        const turn = gate<undefined>();
        this.turns.push(turn);
        await turn.promise;
        return super.patchStatus(ref, build);
      }
    }
    const source = new FakeSource();
    const writer = new PacedStatus(source);
    const h = await fivePolls(source, writer);
    // One write waits for its turn; no patch exists yet (what waits is the change, not a body).
    expect(writer.turns).toHaveLength(1);
    expect(writer.patches).toHaveLength(0);
    writer.turns[0]?.release(undefined);
    await settle();
    // Built when its turn came: reconcile's wish and five polls' in one patch, the latest value.
    expect(writer.patches).toHaveLength(1);
    expect(writer.patches[0]?.patch.desiredReplicas).toBe(5);
    expect(writer.patches[0]?.patch.conditions).toBeDefined();
    expect(h.controller.stats.statusWrites).toBe(1);
    // Nothing else pending: a later change starts a new write.
    expect(writer.turns).toHaveLength(1);
  });

  it('a poll that changes nothing asks the paced writer for no turn (pacing never holds polls)', async () => {
    class PacedStatus extends FakeStatusWriter {
      turns = 0;
      override async patchStatus(
        ref: ScaledObjectRef,
        build: () => StatusPatch | undefined,
      ): Promise<PlatformResult<void>> {
        this.turns++;
        return super.patchStatus(ref, build);
      }
    }
    const source = new FakeSource();
    const writer = new PacedStatus(source);
    const h = onDeadline({
      source,
      status: writer,
      finalizers: writer,
      script: (resolved) => new ScriptedScaler(resolved.metric, () => reading(2)),
    });
    h.target.set(TARGET, 0);
    source.put(scaledObject('app'));
    await h.controller.reconcileNow(KEY);
    await pollPastDeadline(h);
    await pollPastDeadline(h);
    await settle();
    const settled = writer.turns;
    expect(writer.patches.length).toBeGreaterThan(0);
    for (let i = 0; i < 5; i++) await pollPastDeadline(h);
    await settle();
    expect(writer.turns).toBe(settled);
  });
});
