// The controller makes the same decisions on the same readings as `ebb simulate`: drive the
// controller's poll with a scripted scaler and compare the replicas it writes, poll by poll,
// with src/scaling/simulate.ts on the same trace.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { admitScaledObject } from '../../src/controller/admission.ts';
import { simulate } from '../../src/scaling/simulate.ts';
import { scalingSpecFrom } from '../../src/scaling/spec.ts';
import type { TriggerReading } from '../../src/scaling/types.ts';
import { harness, reading, ScriptedScaler, scaledObject } from './fakes.ts';

const START = Date.parse('2025-01-06T10:00:00Z');
const TARGET = 'Deployment/ns/app';

/** Replicas after each poll, as the controller writes them through the ScaleTarget port. */
const controllerReplicas = async (
  spec: Record<string, unknown>,
  trace: readonly number[],
  initial: number,
) => {
  const h = harness({
    start: START,
    script: (resolved) => new ScriptedScaler(resolved.metric, (n) => reading(trace[n] ?? 0)),
  });
  h.target.set(TARGET, initial);
  h.source.put(scaledObject('app', { spec }));
  await h.controller.reconcileNow('ns/app');
  const out: number[] = [];
  for (let i = 0; i < trace.length; i++) {
    await h.controller.pollNow('ns/app');
    out.push(h.target.get(TARGET) ?? -1);
    await h.clock.advance(1000);
  }
  return out;
};

/** The same trace through simulate(). */
const simulatedReplicas = (spec: Record<string, unknown>, trace: readonly number[], initial: number) => {
  const admission = admitScaledObject(scaledObject('app', { spec }));
  if (!admission.ok) throw new Error(JSON.stringify(admission.problems));
  const scaling = scalingSpecFrom(admission.object.spec, admission.pause);
  if (!scaling.ok) throw new Error(JSON.stringify(scaling.error));
  const trigger = admission.triggers[0];
  if (trigger === undefined) throw new Error('no trigger');
  const polls = trace.map((value, t) => {
    const r: TriggerReading = {
      ok: true,
      trigger: trigger.key,
      metricName: trigger.metric.name,
      value,
      target: trigger.metric.target,
      metricType: trigger.metric.metricType,
      active: value > 0,
    };
    return { t, readings: [r] };
  });
  return simulate(scaling.value, { initialReplicas: initial, polls, startMs: START }).map((s) => s.replicas);
};

const SPECS: Record<string, Record<string, unknown>> = {
  'defaults, cooldown 5 s': { cooldownPeriod: 5 },
  'min 1 max 6, cooldown 0': { minReplicaCount: 1, maxReplicaCount: 6, cooldownPeriod: 0 },
  'idle 0 min 2, fast scale-down': {
    idleReplicaCount: 0,
    minReplicaCount: 2,
    maxReplicaCount: 10,
    cooldownPeriod: 3,
    advanced: {
      horizontalPodAutoscalerConfig: {
        behavior: {
          scaleDown: {
            stabilizationWindowSeconds: 2,
            policies: [{ type: 'Pods', value: 1, periodSeconds: 1 }],
          },
        },
      },
    },
  },
};

const TRACES: Record<string, number[]> = {
  'burst then quiet': [0, 0, 4, 9, 9, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
  flapping: [1, 0, 1, 0, 0, 5, 0, 2, 0, 0, 0, 0, 0, 0],
  'slow ramp': [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 14, 3, 0, 0, 0, 0, 0, 0],
};

describe('controller vs ebb simulate', () => {
  for (const [specLabel, spec] of Object.entries(SPECS)) {
    for (const [traceLabel, trace] of Object.entries(TRACES)) {
      it(`${specLabel} / ${traceLabel}`, async () => {
        const initial = 0;
        expect(await controllerReplicas(spec, trace, initial)).toEqual(
          simulatedReplicas(spec, trace, initial),
        );
      });
    }
  }

  it('agrees on random traces', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...Object.values(SPECS)),
        fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 0, max: 5 }),
        async (spec, trace, initial) => {
          expect(await controllerReplicas(spec, trace, initial)).toEqual(
            simulatedReplicas(spec, trace, initial),
          );
        },
      ),
      { numRuns: 40 },
    );
  });
});
