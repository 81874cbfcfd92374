// KEDA's executor semantics (pkg/scaling/executor/scale_scaledobjects.go) through decide():
// activation, cooldown and initialCooldown, idle and minimum replicas, errors, pause.
import { describe, expect, it } from 'vitest';
import type { PauseSettings } from '../../src/api/annotations.ts';
import { cooldownOf } from '../../src/scaling/activation.ts';
import { decide, initialScalingState } from '../../src/scaling/decide.ts';
import type { ScalingState } from '../../src/scaling/types.ts';
import { expectDecision, failing, MINUTE, NO_PAUSE, reading, SECOND, specOf, T0 } from './helpers.ts';

const fresh = initialScalingState(T0);
const activeAt = (time: number): ScalingState => ({ ...fresh, lastActiveTime: time });
const busy = reading('orders', 30, 5); // ceil(30 / 5) = 6, active
const idle = reading('orders', 0, 5); // inactive

describe('activation', () => {
  it('active at 0 replicas -> max(minReplicaCount, 1) = 1, transition activated, lastActiveTime = now', () => {
    const now = T0 + MINUTE;
    expectDecision('min 0', decide(specOf(), { now, currentReplicas: 0, readings: [busy] }, fresh), {
      desiredReplicas: 1,
      active: true,
      activeReason: 'ScalerActive',
      transition: 'activated',
      lastActiveTime: now,
    });
  });

  it('active at 0 replicas with minReplicaCount 3 -> 3', () => {
    expectDecision(
      'min 3',
      decide(specOf({ minReplicaCount: 3 }), { now: T0, currentReplicas: 0, readings: [busy] }, fresh),
      { desiredReplicas: 3, transition: 'activated' },
    );
  });

  it('activation ignores the metric: 0 -> 1 even when the metric asks 6 (the HPA takes over next poll)', () => {
    const first = decide(specOf(), { now: T0, currentReplicas: 0, readings: [busy] }, fresh);
    expectDecision('0 -> 1', first, { desiredReplicas: 1 });
    const second = decide(
      specOf(),
      { now: T0 + 30 * SECOND, currentReplicas: 1, readings: [busy] },
      first.state,
    );
    expectDecision('1 -> 5 (scale-up limit max(1 + 4, 2))', second, {
      desiredReplicas: 5,
      transition: undefined,
    });
  });

  it('active at N: lastActiveTime = now and 1 <-> N follows the HPA computation', () => {
    const now = T0 + 10 * MINUTE;
    expectDecision('2 -> 6', decide(specOf(), { now, currentReplicas: 2, readings: [busy] }, activeAt(T0)), {
      desiredReplicas: 6,
      active: true,
      transition: undefined,
      lastActiveTime: now,
    });
  });

  it('active at N with min 0: the HPA minimum is 1, never 0', () => {
    const spec = specOf({
      advanced: {
        horizontalPodAutoscalerConfig: { behavior: { scaleDown: { stabilizationWindowSeconds: 0 } } },
      },
    });
    const quiet = reading('orders', 0.001, 5, { active: true });
    expectDecision('4 -> 1', decide(spec, { now: T0, currentReplicas: 4, readings: [quiet] }, activeAt(T0)), {
      desiredReplicas: 1,
    });
  });
});

describe('cooldown', () => {
  const spec = specOf();
  it('inactive within cooldownPeriod: Active=False ScalerCooldown, replicas kept', () => {
    const d = decide(spec, { now: T0 + 5 * MINUTE, currentReplicas: 5, readings: [idle] }, activeAt(T0));
    expectDecision('now = last active + 5 min', d, {
      desiredReplicas: 5,
      active: false,
      activeReason: 'ScalerCooldown',
      transition: undefined,
      lastActiveTime: T0,
    });
    expect(d.explanation).toMatch(/cooldown: 0 s left before 5 → 0/);
  });

  it('inactive after cooldownPeriod (now + 5 min + 2 s): jumps to 0, transition deactivated', () => {
    expectDecision(
      'now = last active + 5 min + 2 s',
      decide(spec, { now: T0 + 5 * MINUTE + 2 * SECOND, currentReplicas: 5, readings: [idle] }, activeAt(T0)),
      { desiredReplicas: 0, active: false, activeReason: 'ScalerNotActive', transition: 'deactivated' },
    );
  });

  it('the cooldown boundary is strict: lastActiveTime + cooldown < now', () => {
    expect(cooldownOf(spec, activeAt(T0), T0 + 5 * MINUTE).elapsed).toBe(false);
    expect(cooldownOf(spec, activeAt(T0), T0 + 5 * MINUTE + 1).elapsed).toBe(true);
  });

  it('cooldownPeriod 0 scales to zero on the first inactive poll', () => {
    expectDecision(
      'cooldown 0',
      decide(
        specOf({ cooldownPeriod: 0 }),
        { now: T0 + 1, currentReplicas: 3, readings: [idle] },
        activeAt(T0),
      ),
      { desiredReplicas: 0, transition: 'deactivated' },
    );
  });

  it('never active: initialCooldownPeriod counts from creation', () => {
    const withInitial = specOf({ initialCooldownPeriod: 120 });
    expectDecision(
      'created 60 s ago',
      decide(withInitial, { now: T0 + MINUTE, currentReplicas: 3, readings: [idle] }, fresh),
      { desiredReplicas: 3, activeReason: 'ScalerCooldown', lastActiveTime: undefined },
    );
    expectDecision(
      'created 121 s ago',
      decide(withInitial, { now: T0 + 121 * SECOND, currentReplicas: 3, readings: [idle] }, fresh),
      { desiredReplicas: 0, transition: 'deactivated' },
    );
  });

  it('never active with the default initialCooldownPeriod 0: scales to zero at once', () => {
    expectDecision(
      'created 1 ms ago',
      decide(spec, { now: T0 + 1, currentReplicas: 2, readings: [idle] }, fresh),
      {
        desiredReplicas: 0,
        transition: 'deactivated',
      },
    );
  });

  it('minReplicaCount > 0 without idleReplicaCount: no jump, the HPA scales down to min', () => {
    const withMin = specOf({ minReplicaCount: 2 });
    const first = decide(
      withMin,
      { now: T0 + 20 * MINUTE, currentReplicas: 5, readings: [idle] },
      activeAt(T0),
    );
    expectDecision('first poll: the HPA stabilization window holds 5', first, {
      desiredReplicas: 5,
      activeReason: 'ScalerNotActive',
      transition: undefined,
    });
    const later = decide(
      withMin,
      { now: T0 + 25 * MINUTE + SECOND, currentReplicas: 5, readings: [idle] },
      first.state,
    );
    expectDecision('after the 300 s window: down to min 2', later, {
      desiredReplicas: 2,
      transition: undefined,
    });
  });

  it('inactive below minReplicaCount (no idle) -> minReplicaCount at once', () => {
    expectDecision(
      'current 1, min 3',
      decide(specOf({ minReplicaCount: 3 }), { now: T0, currentReplicas: 1, readings: [idle] }, fresh),
      { desiredReplicas: 3, transition: undefined },
    );
  });

  it('inactive at 0 stays at 0', () => {
    expectDecision(
      '0 stays',
      decide(spec, { now: T0 + 20 * MINUTE, currentReplicas: 0, readings: [idle] }, activeAt(T0)),
      {
        desiredReplicas: 0,
        activeReason: 'ScalerNotActive',
      },
    );
  });
});

describe('idleReplicaCount', () => {
  const spec = specOf({ idleReplicaCount: 1, minReplicaCount: 3, maxReplicaCount: 10 });
  it('inactive after the cooldown -> idleReplicaCount', () => {
    expectDecision(
      '5 -> 1',
      decide(spec, { now: T0 + 10 * MINUTE, currentReplicas: 5, readings: [idle] }, activeAt(T0)),
      {
        desiredReplicas: 1,
        transition: 'deactivated',
      },
    );
  });
  it('active at idle (below min) -> max(min, 1) = 3', () => {
    expectDecision('1 -> 3', decide(spec, { now: T0, currentReplicas: 1, readings: [busy] }, fresh), {
      desiredReplicas: 3,
      transition: 'activated',
    });
  });
  it('inactive at idle: held there (the HPA would pull it back to min)', () => {
    expectDecision(
      '1 stays',
      decide(spec, { now: T0 + 10 * MINUTE, currentReplicas: 1, readings: [idle] }, activeAt(T0)),
      {
        desiredReplicas: 1,
        transition: undefined,
      },
    );
  });
  it('idleReplicaCount 0 with min 2: inactive after cooldown -> 0', () => {
    const zero = specOf({ idleReplicaCount: 0, minReplicaCount: 2 });
    expectDecision(
      '4 -> 0',
      decide(zero, { now: T0 + 10 * MINUTE, currentReplicas: 4, readings: [idle] }, activeAt(T0)),
      {
        desiredReplicas: 0,
        transition: 'deactivated',
      },
    );
  });
});

describe('errors never scale to zero', () => {
  const spec = specOf();
  it('inactive because the only trigger fails: replicas kept, Ready=False TriggerError', () => {
    const d = decide(
      spec,
      { now: T0 + 60 * MINUTE, currentReplicas: 3, readings: [failing('orders')] },
      activeAt(T0),
    );
    expectDecision('no fallback', d, {
      desiredReplicas: 3,
      active: false,
      activeReason: 'ScalerNotActive',
      fallbackActive: false,
      transition: undefined,
    });
    expect(d.triggerError).toEqual({
      reason: 'TriggerError',
      message: expect.stringContaining('orders: KafkaError'),
    });
  });

  it('with fallback.replicas 0 below the threshold: still no scale to zero (KEDA would fall through)', () => {
    const withZero = specOf({ fallback: { failureThreshold: 3, replicas: 0 } });
    expectDecision(
      'fallback replicas 0',
      decide(
        withZero,
        { now: T0 + 60 * MINUTE, currentReplicas: 3, readings: [failing('orders')] },
        activeAt(T0),
      ),
      { desiredReplicas: 3 },
    );
  });

  it('an inactive valid trigger beside a failing one: no scale to zero, no scale down', () => {
    const two = specOf({
      triggers: [
        { type: 'kafka', name: 'orders', metadata: {} },
        { type: 'kafka', name: 'payments', metadata: {} },
      ],
    });
    const readings = [
      reading('orders', 0, 5, { metricName: 's0-orders' }),
      failing('payments', 5, { metricName: 's1-payments' }),
    ];
    expectDecision(
      '3 kept',
      decide(two, { now: T0 + 60 * MINUTE, currentReplicas: 3, readings }, activeAt(T0)),
      {
        desiredReplicas: 3,
        active: false,
      },
    );
  });

  it('a failing trigger beside an active one: scale up from the valid one is allowed', () => {
    const two = specOf({
      triggers: [
        { type: 'kafka', name: 'orders', metadata: {} },
        { type: 'kafka', name: 'payments', metadata: {} },
      ],
    });
    const readings = [
      reading('orders', 30, 5, { metricName: 's0-orders' }),
      failing('payments', 5, { metricName: 's1-payments' }),
    ];
    const d = decide(two, { now: T0, currentReplicas: 3, readings }, activeAt(T0));
    expectDecision('3 -> 6', d, { desiredReplicas: 6, active: true });
    expect(d.triggerError?.reason).toBe('TriggerError');
  });

  it('a failing trigger beside an active one: no scale down from the valid one', () => {
    const two = specOf({
      triggers: [
        { type: 'kafka', name: 'orders', metadata: {} },
        { type: 'kafka', name: 'payments', metadata: {} },
      ],
      advanced: {
        horizontalPodAutoscalerConfig: { behavior: { scaleDown: { stabilizationWindowSeconds: 0 } } },
      },
    });
    const readings = [
      reading('orders', 5, 5, { metricName: 's0-orders' }),
      failing('payments', 5, { metricName: 's1-payments' }),
    ];
    expectDecision('8 kept', decide(two, { now: T0, currentReplicas: 8, readings }, activeAt(T0)), {
      desiredReplicas: 8,
    });
  });

  it('active at 0 with a failing trigger beside it still activates', () => {
    const two = specOf({
      triggers: [
        { type: 'kafka', name: 'orders', metadata: {} },
        { type: 'kafka', name: 'payments', metadata: {} },
      ],
    });
    const readings = [
      reading('orders', 30, 5, { metricName: 's0-orders' }),
      failing('payments', 5, { metricName: 's1-payments' }),
    ];
    expectDecision('0 -> 1', decide(two, { now: T0, currentReplicas: 0, readings }, fresh), {
      desiredReplicas: 1,
      transition: 'activated',
    });
  });
});

describe('pause annotations', () => {
  const paused = (p: Partial<PauseSettings>) => specOf({}, { ...NO_PAUSE, ...p });
  const cases: Array<{
    label: string;
    pause: Partial<PauseSettings>;
    current: number;
    active: boolean;
    state: ScalingState;
    expected: number;
  }> = [
    {
      label: 'paused-replicas 2 from 7, triggers active',
      pause: { pause: { kind: 'pausedReplicas', replicas: 2 } },
      current: 7,
      active: true,
      state: fresh,
      expected: 2,
    },
    {
      label: 'paused-replicas 0 from 3',
      pause: { pause: { kind: 'pausedReplicas', replicas: 0 } },
      current: 3,
      active: true,
      state: fresh,
      expected: 0,
    },
    {
      label: 'paused-replicas above maxReplicaCount is clamped to 100',
      pause: { pause: { kind: 'pausedReplicas', replicas: 500 } },
      current: 3,
      active: false,
      state: fresh,
      expected: 100,
    },
    {
      label: 'paused keeps 4 although active',
      pause: { pause: { kind: 'paused' } },
      current: 4,
      active: true,
      state: fresh,
      expected: 4,
    },
    {
      label: 'paused keeps 0 although active',
      pause: { pause: { kind: 'paused' } },
      current: 0,
      active: true,
      state: fresh,
      expected: 0,
    },
    {
      label: 'paused keeps 4 although the cooldown is over',
      pause: { pause: { kind: 'paused' } },
      current: 4,
      active: false,
      state: activeAt(T0 - 60 * MINUTE),
      expected: 4,
    },
    {
      label: 'paused-scale-in: no 1 -> 0 after the cooldown',
      pause: { scaleInPaused: true },
      current: 1,
      active: false,
      state: activeAt(T0 - 60 * MINUTE),
      expected: 1,
    },
    {
      label: 'paused-scale-in: scale up still allowed',
      pause: { scaleInPaused: true },
      current: 2,
      active: true,
      state: fresh,
      expected: 6,
    },
    {
      label: 'paused-scale-out: no 0 -> 1 activation',
      pause: { scaleOutPaused: true },
      current: 0,
      active: true,
      state: fresh,
      expected: 0,
    },
    {
      label: 'paused-scale-out: no scale up from 2',
      pause: { scaleOutPaused: true },
      current: 2,
      active: true,
      state: fresh,
      expected: 2,
    },
    {
      label: 'paused-scale-out: scale to zero still allowed',
      pause: { scaleOutPaused: true },
      current: 3,
      active: false,
      state: activeAt(T0 - 60 * MINUTE),
      expected: 0,
    },
  ];
  it.each(cases)('$label', ({ label, pause, current, active, state, expected }) => {
    const d = decide(
      paused(pause),
      { now: T0, currentReplicas: current, readings: [active ? busy : idle] },
      state,
    );
    expectDecision(label, d, { desiredReplicas: expected });
  });

  it('paused and paused-replicas leave the state untouched', () => {
    const state = activeAt(T0 - MINUTE);
    const d = decide(
      paused({ pause: { kind: 'paused' } }),
      { now: T0, currentReplicas: 4, readings: [failing('orders')] },
      state,
    );
    expect(d.state).toBe(state);
    expect(d.transition).toBeUndefined();
  });

  it('paused-scale-in blocks the HPA scale down too (selectPolicy Disabled, as KEDA sets it)', () => {
    const spec = specOf(
      {
        minReplicaCount: 1,
        advanced: {
          horizontalPodAutoscalerConfig: { behavior: { scaleDown: { stabilizationWindowSeconds: 0 } } },
        },
      },
      { ...NO_PAUSE, scaleInPaused: true },
    );
    expectDecision(
      '8 kept',
      decide(spec, { now: T0, currentReplicas: 8, readings: [reading('orders', 5, 5)] }, fresh),
      {
        desiredReplicas: 8,
      },
    );
  });
});

describe("the Active condition's message comes from the core", () => {
  // Stable texts (no seconds left, no trigger names): poll.ts writes them as they are, and a
  // message that changed every poll would be a status write every poll.
  const spec = specOf();
  it.each([
    [
      'active',
      { currentReplicas: 5, readings: [busy] },
      activeAt(T0),
      'Scaling is performed because triggers are active',
    ],
    [
      'cooling down',
      { currentReplicas: 5, readings: [idle] },
      activeAt(T0),
      'Triggers are not active; scaling in after the cooldown period (300 s)',
    ],
    [
      'not active',
      { currentReplicas: 0, readings: [idle] },
      fresh,
      'Scaling is not performed because triggers are not active',
    ],
  ] as const)('%s', (_label, input, state, message) => {
    const d = decide(spec, { now: T0 + 5 * MINUTE, ...input }, state);
    expect(d.activeMessage).toBe(message);
  });

  it('paused: the words of an inactive target (Paused has its own condition)', () => {
    const paused = specOf({}, { ...NO_PAUSE, pause: { kind: 'paused' } });
    expect(decide(paused, { now: T0, currentReplicas: 3, readings: [busy] }, fresh).activeMessage).toBe(
      'Scaling is not performed because triggers are not active',
    );
  });
});
