// KEDA's fallback (pkg/fallback/fallback.go) and its effect on decide().
import { describe, expect, it } from 'vitest';
import type { FallbackBehavior } from '../../src/api/scaledobject.ts';
import { decide, initialScalingState } from '../../src/scaling/decide.ts';
import {
  type FallbackSpec,
  fallbackReplicas,
  isFallingBack,
  nextHealth,
} from '../../src/scaling/fallback.ts';
import type { ScalingSpec, ScalingState } from '../../src/scaling/types.ts';
import { expectDecision, failing, MINUTE, reading, SECOND, specOf, T0 } from './helpers.ts';

const fallback = (behavior: FallbackBehavior, replicas = 6, failureThreshold = 3): FallbackSpec => ({
  failureThreshold,
  replicas,
  behavior,
});

describe('health bookkeeping (GetMetricsWithFallback)', () => {
  it('a failure increments numberOfFailures and marks Failing; a success resets to 0, Happy', () => {
    let health = nextHealth({}, [failing('orders')]);
    expect(health).toEqual({ 's0-orders': { numberOfFailures: 1, status: 'Failing' } });
    health = nextHealth(health, [failing('orders')]);
    expect(health['s0-orders']).toEqual({ numberOfFailures: 2, status: 'Failing' });
    health = nextHealth(health, [reading('orders', 1, 1)]);
    expect(health['s0-orders']).toEqual({ numberOfFailures: 0, status: 'Happy' });
  });

  it('is tracked without a fallback too (KEDA patches status.health either way)', () => {
    expect(nextHealth({}, [failing('orders')])).toEqual({
      's0-orders': { numberOfFailures: 1, status: 'Failing' },
    });
    expect(nextHealth({ 's1-cron': { numberOfFailures: 0, status: 'Happy' } }, [failing('orders')])).toEqual({
      's1-cron': { numberOfFailures: 0, status: 'Happy' },
      's0-orders': { numberOfFailures: 1, status: 'Failing' },
    });
  });

  it('fallback applies when numberOfFailures > failureThreshold', () => {
    const fb = fallback('static', 6, 3);
    expect(isFallingBack({ numberOfFailures: 3, status: 'Failing' }, fb)).toBe(false);
    expect(isFallingBack({ numberOfFailures: 4, status: 'Failing' }, fb)).toBe(true);
    expect(isFallingBack({ numberOfFailures: 9, status: 'Happy' }, fb)).toBe(false);
    expect(isFallingBack({ numberOfFailures: 1, status: 'Failing' }, fallback('static', 6, 0))).toBe(true);
  });

  const behaviors: Array<[FallbackBehavior, number, number]> = [
    ['static', 4, 6],
    ['static', 9, 6],
    ['currentReplicas', 4, 4],
    ['currentReplicas', 9, 9],
    ['currentReplicasIfHigher', 4, 6],
    ['currentReplicasIfHigher', 9, 9],
    ['currentReplicasIfLower', 4, 4],
    ['currentReplicasIfLower', 9, 6],
  ];
  it.each(behaviors)(
    'doFallback %s at current %i with fallback.replicas 6 -> %i',
    (behavior, current, expected) => {
      expect(fallbackReplicas(fallback(behavior), current)).toBe(expected);
    },
  );
});

/** Polls `n` failing reads, 30 s apart, from `current` replicas (ready at once). */
const failFor = (spec: ScalingSpec, n: number, current: number, state: ScalingState) => {
  let replicas = current;
  let s = state;
  let last = decide(spec, { now: T0, currentReplicas: replicas, readings: [failing('orders')] }, s);
  for (let i = 0; i < n; i++) {
    last = decide(
      spec,
      { now: T0 + (i + 1) * 30 * SECOND, currentReplicas: replicas, readings: [failing('orders')] },
      s,
    );
    s = last.state;
    replicas = last.desiredReplicas;
  }
  return last;
};

describe('fallback in decide()', () => {
  // No scale-down stabilization so the fallback's number shows at once.
  const withFallback = (behavior: FallbackBehavior, replicas = 6) =>
    specOf({
      fallback: { failureThreshold: 3, replicas, behavior },
      advanced: {
        horizontalPodAutoscalerConfig: { behavior: { scaleDown: { stabilizationWindowSeconds: 0 } } },
      },
    });
  const wasActive = { ...initialScalingState(T0 - 60 * MINUTE), lastActiveTime: T0 - 60 * MINUTE };

  it('failures up to the threshold: error, replicas kept, no fallback yet', () => {
    const d = failFor(withFallback('static'), 3, 4, wasActive);
    expectDecision('3rd failure', d, { desiredReplicas: 4, fallbackActive: false, active: false });
    expect(d.triggerError?.reason).toBe('TriggerError');
    expect(d.state.health['s0-orders']).toEqual({ numberOfFailures: 3, status: 'Failing' });
  });

  const cases: Array<{ behavior: FallbackBehavior; current: number; expected: number }> = [
    { behavior: 'static', current: 4, expected: 6 },
    { behavior: 'static', current: 9, expected: 6 },
    { behavior: 'currentReplicas', current: 4, expected: 4 },
    { behavior: 'currentReplicas', current: 9, expected: 9 },
    { behavior: 'currentReplicasIfHigher', current: 4, expected: 6 },
    { behavior: 'currentReplicasIfHigher', current: 9, expected: 9 },
    { behavior: 'currentReplicasIfLower', current: 4, expected: 4 },
    { behavior: 'currentReplicasIfLower', current: 9, expected: 6 },
  ];
  it.each(cases)(
    '4th failure (> failureThreshold 3), $behavior from $current -> $expected',
    ({ behavior, current, expected }) => {
      const d = failFor(withFallback(behavior), 4, current, wasActive);
      expectDecision(`${behavior} from ${current}`, d, {
        desiredReplicas: expected,
        fallbackActive: true,
        active: true,
        triggerError: undefined,
      });
    },
  );

  it('the fallback goes through the scale-up rate limit: 2 -> 6 (max(2 + 4, 4)), then 6 -> 10', () => {
    const spec = withFallback('static', 10);
    const d = failFor(spec, 4, 2, wasActive);
    expectDecision('4th failure', d, { desiredReplicas: 6, fallbackActive: true });
    const next = decide(
      spec,
      { now: T0 + 150 * SECOND, currentReplicas: 6, readings: [failing('orders')] },
      d.state,
    );
    expectDecision('5th failure', next, { desiredReplicas: 10 });
  });

  it('a fallback keeps the ScaledObject active: fallback.replicas 0 holds at least 1 replica', () => {
    const d = failFor(withFallback('static', 0), 4, 3, wasActive);
    expectDecision('fallback to 0', d, { desiredReplicas: 1, active: true, fallbackActive: true });
  });

  it('at 0 replicas, a fallback activates the target, then takes it to fallback.replicas', () => {
    const spec = withFallback('static', 5);
    const d = failFor(spec, 4, 0, initialScalingState(T0));
    expectDecision('activation by fallback', d, {
      desiredReplicas: 1,
      transition: 'activated',
      fallbackActive: true,
    });
    const next = decide(
      spec,
      { now: T0 + 150 * SECOND, currentReplicas: 1, readings: [failing('orders')] },
      d.state,
    );
    expectDecision('then fallback replicas', next, { desiredReplicas: 5 });
  });

  it('a success ends the fallback', () => {
    const spec = withFallback('static');
    const d = failFor(spec, 4, 4, wasActive);
    const ok = decide(
      spec,
      { now: T0 + 10 * MINUTE, currentReplicas: 6, readings: [reading('orders', 30, 5)] },
      d.state,
    );
    expectDecision('recovered', ok, { fallbackActive: false, desiredReplicas: 6 });
    expect(ok.state.health['s0-orders']).toEqual({ numberOfFailures: 0, status: 'Happy' });
  });

  it('the fallback goes through the HPA tolerance: fallback 10 at 11 replicas, 10 / 11 = 0.91 -> stays 11', () => {
    const d = failFor(withFallback('static', 10), 4, 11, wasActive);
    expectDecision('11 stays', d, { desiredReplicas: 11, fallbackActive: true });
  });
});
