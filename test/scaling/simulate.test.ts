import { describe, expect, it } from 'vitest';
import { decide, initialScalingState } from '../../src/scaling/decide.ts';
import { type SimulationPoll, simulate } from '../../src/scaling/simulate.ts';
import { reading, specOf, T0 } from './helpers.ts';

const poll = (t: number, value: number): SimulationPoll => ({ t, readings: [reading('orders', value, 5)] });

describe('simulate', () => {
  it('replays a burst: activation, HPA scale-up under the rate limit, cooldown, jump to zero', () => {
    const values = [0, 12, 12, 40, 40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    const steps = simulate(specOf(), {
      initialReplicas: 0,
      startMs: T0,
      polls: values.map((v, i) => poll(i * 30, v)),
    });
    const table = steps.map((s) => [
      s.t,
      s.replicas,
      s.active,
      s.decision.activeReason,
      s.decision.transition ?? '-',
    ]);
    expect(table).toEqual([
      [0, 0, false, 'ScalerNotActive', '-'],
      [30, 1, true, 'ScalerActive', 'activated'], // 0 -> max(min, 1)
      [60, 3, true, 'ScalerActive', '-'], // ceil(12 / 5)
      [90, 7, true, 'ScalerActive', '-'], // ceil(40 / 5) = 8, limited to max(3 + 4, 3 × 2)
      [120, 8, true, 'ScalerActive', '-'],
      [150, 8, false, 'ScalerCooldown', '-'], // last active at 120 s; stabilization holds 8
      [180, 8, false, 'ScalerCooldown', '-'],
      [210, 8, false, 'ScalerCooldown', '-'],
      [240, 8, false, 'ScalerCooldown', '-'],
      [270, 8, false, 'ScalerCooldown', '-'],
      [300, 8, false, 'ScalerCooldown', '-'],
      [330, 8, false, 'ScalerCooldown', '-'],
      [360, 8, false, 'ScalerCooldown', '-'],
      [390, 8, false, 'ScalerCooldown', '-'],
      [420, 1, false, 'ScalerCooldown', '-'], // 120 + 300 is not < 420; the window let go of 8 -> HPA to 1
      [450, 0, false, 'ScalerNotActive', 'deactivated'], // 120 s + 300 s < 450 s
    ]);
  });

  it('is exactly decide() folded over the polls, replicas ready at once', () => {
    const spec = specOf({ minReplicaCount: 1, maxReplicaCount: 10 });
    const polls = [poll(0, 7), poll(15, 60), poll(45, 3), poll(400, 0)];
    const steps = simulate(spec, { initialReplicas: 2, startMs: T0, polls });
    let state = initialScalingState(T0);
    let replicas = 2;
    polls.forEach((p, i) => {
      const d = decide(
        spec,
        { now: T0 + p.t * 1000, currentReplicas: replicas, readings: p.readings },
        state,
      );
      expect(steps[i]?.decision).toEqual(d);
      state = d.state;
      replicas = d.desiredReplicas;
    });
  });
});
