// HPA mode (autoscaling.ebb.dev/scaling-mode: hpa): the HPA ebb asks for, its ownership, updates
// and deletion, the refusal of a foreign HPA, and the poll writing only 0 <-> 1.
import { describe, expect, it } from 'vitest';
import { SCALING_MODE, scalingModeFrom } from '../../src/api/annotations.ts';
import type { ScaledObject } from '../../src/api/scaledobject.ts';
import { admitScaledObject } from '../../src/controller/admission.ts';
import { hpaDefinitionOf, scalingModeOf } from '../../src/controller/hpa-mode.ts';
import { regardingOf, targetRefOf } from '../../src/controller/tracked.ts';
import type { StatusPatch } from '../../src/platform/ports.ts';
import { scalingSpecFrom } from '../../src/scaling/spec.ts';
import { condition, FakeHpaWriter, harness, reading, ScriptedScaler, scaledObject } from './fakes.ts';

const KEY = 'ns/app';
const TARGET = 'Deployment/ns/app';
const HPA = 'ns/ebb-hpa-app';
const HPA_MODE = { [SCALING_MODE]: 'hpa' };
const POD = { type: 'Pods', value: 1, periodSeconds: 60 };

const lastField = <K extends keyof StatusPatch>(
  patches: readonly { patch: StatusPatch }[],
  field: K,
): StatusPatch[K] | 'absent' => {
  for (let i = patches.length - 1; i >= 0; i--) {
    const p = patches[i]?.patch;
    if (p !== undefined && field in p) return p[field];
  }
  return 'absent';
};

/** A harness with an HPA writer whose scalers read `values` in turn (the last repeats). */
const hpaHarness = (values: readonly number[], withWriter = true) => {
  const hpa = new FakeHpaWriter();
  let n = 0;
  const h = harness({
    ...(withWriter ? { hpa } : {}),
    script: (resolved) =>
      new ScriptedScaler(resolved.metric, () => reading(values[Math.min(n++, values.length - 1)] ?? 0)),
  });
  return { ...h, hpa };
};

const admitted = (raw: unknown): ScaledObject => {
  const a = admitScaledObject(raw);
  if (!a.ok) throw new Error(JSON.stringify(a.problems));
  return a.object;
};

describe('the HPA ebb asks for', () => {
  const rabbit = {
    type: 'rabbitmq',
    metadata: { host: 'amqp://rabbit', queueName: 'orders', mode: 'QueueLength', value: '2.5' },
  };
  const cases: {
    label: string;
    spec?: Record<string, unknown>;
    annotations?: Record<string, string>;
    expected: Record<string, unknown>;
  }[] = [
    {
      label: 'defaults: ebb-hpa-<name>, min max(0, 1) = 1, max 100, no behavior',
      expected: { name: 'ebb-hpa-app', minReplicas: 1, maxReplicas: 100, behavior: undefined },
    },
    {
      label: 'horizontalPodAutoscalerConfig.name and behavior, min/max from the spec',
      spec: {
        minReplicaCount: 2,
        maxReplicaCount: 7,
        advanced: {
          horizontalPodAutoscalerConfig: {
            name: 'orders-hpa',
            behavior: { scaleDown: { stabilizationWindowSeconds: 30 } },
          },
        },
      },
      expected: {
        name: 'orders-hpa',
        minReplicas: 2,
        maxReplicas: 7,
        behavior: { scaleDown: { stabilizationWindowSeconds: 30 } },
      },
    },
    {
      label: 'paused-scale-in disables scale-down (as KEDA)',
      annotations: { 'autoscaling.keda.sh/paused-scale-in': 'true' },
      spec: { advanced: { horizontalPodAutoscalerConfig: { behavior: { scaleDown: { policies: [POD] } } } } },
      expected: { behavior: { scaleDown: { policies: [POD], selectPolicy: 'Disabled' } } },
    },
  ];
  for (const c of cases) {
    it(c.label, () => {
      const so = admitted(
        scaledObject('app', {
          annotations: { ...HPA_MODE, ...c.annotations },
          triggers: [rabbit],
          ...(c.spec === undefined ? {} : { spec: c.spec }),
        }),
      );
      const a = admitScaledObject(so);
      if (!a.ok) throw new Error('not admitted');
      const spec = scalingSpecFrom(so.spec, a.pause);
      if (!spec.ok) throw new Error('no spec');
      const ref = { namespace: 'ns', name: 'app', uid: 'uid-app' };
      const def = hpaDefinitionOf(so, regardingOf(ref), targetRefOf(so, 'ns'), a.triggers, spec.value);
      expect(def).toMatchObject(c.expected);
      expect(def.metrics).toEqual([{ name: 's0-rabbitmq-orders', metricType: 'AverageValue', target: 2.5 }]);
      expect(def.metricSelector).toEqual({ 'autoscaling.ebb.dev/scaledobject': 'app' });
      expect(def.owner).toMatchObject({ kind: 'ScaledObject', uid: 'uid-app', name: 'app' });
      expect(def.target).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'app', namespace: 'ns' });
    });
  }
});

describe('the scaling-mode annotation', () => {
  const rows: { value: string | undefined; mode?: string; error?: string }[] = [
    { value: undefined, mode: 'direct' },
    { value: 'direct', mode: 'direct' },
    { value: 'hpa', mode: 'hpa' },
    { value: ' HPA ', mode: 'hpa' },
    { value: 'keda', error: 'must be "direct" or "hpa", got "keda"' },
  ];
  for (const r of rows) {
    it(`${JSON.stringify(r.value)} → ${r.mode ?? r.error}`, () => {
      const res = scalingModeFrom(r.value === undefined ? {} : { [SCALING_MODE]: r.value });
      if (r.mode !== undefined) expect(res).toEqual({ ok: true, value: r.mode });
      else
        expect(res).toEqual({
          ok: false,
          error: [
            {
              path: 'metadata.annotations["autoscaling.ebb.dev/scaling-mode"]',
              reason: 'InvalidSpec',
              message: r.error,
            },
          ],
        });
    });
  }

  it('HPA mode refuses scalingModifiers (the HPA would need a composite metric)', () => {
    const raw = scaledObject('app', {
      annotations: HPA_MODE,
      spec: { advanced: { scalingModifiers: { formula: 'x', target: '1' } } },
      triggers: [
        {
          type: 'cron',
          name: 'x',
          metadata: { timezone: 'Etc/UTC', start: '0 6 * * *', end: '0 20 * * *', desiredReplicas: '3' },
        },
      ],
    });
    // Admission (and so `ebb validate`) refuses it already, naming the same field.
    expect(admitScaledObject(raw).problems.map((p) => p.path)).toEqual(['spec.advanced.scalingModifiers']);
    const { metadata, ...rest } = raw as { metadata: { annotations?: object } };
    const so = admitted({ ...rest, metadata: { ...metadata, annotations: {} } });
    const mode = scalingModeOf({ ...so, metadata: { ...so.metadata, annotations: HPA_MODE } });
    expect(mode.ok).toBe(false);
    if (!mode.ok) expect(mode.error[0]?.path).toBe('spec.advanced.scalingModifiers');
  });

  it('an unknown value: Ready=False naming the annotation, no polling, no HPA', async () => {
    const h = hpaHarness([0]);
    h.target.set(TARGET, 0);
    h.source.put(scaledObject('app', { annotations: { [SCALING_MODE]: 'auto' } }));
    await h.controller.reconcileNow(KEY);
    expect(condition(h.writer.patches, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'InvalidSpec',
      message:
        'metadata.annotations["autoscaling.ebb.dev/scaling-mode"]: must be "direct" or "hpa", got "auto"',
    });
    expect(h.controller.polling).toBe(0);
    expect(h.hpa.writes).toEqual([]);
  });
});

describe('HPA mode in the controller', () => {
  it('creates the HPA once, updates it on a spec change only, records hpaName', async () => {
    const h = hpaHarness([0]);
    h.target.set(TARGET, 0);
    h.source.put(scaledObject('app', { annotations: HPA_MODE }));
    await h.controller.reconcileNow(KEY);
    expect(h.hpa.writes).toEqual([{ verb: 'create', key: HPA }]);
    expect(h.events.reasons()).toEqual(['HPACreated']);
    await h.controller.pollNow(KEY);
    expect(lastField(h.writer.patches, 'hpaName')).toBe('ebb-hpa-app');
    expect(condition(h.writer.patches, 'Ready')?.status).toBe('True');

    // A new generation with the same HPA-relevant fields: no write.
    h.source.put(scaledObject('app', { annotations: HPA_MODE, generation: 2, spec: { pollingInterval: 2 } }));
    await h.controller.reconcileNow(KEY);
    expect(h.hpa.writes).toHaveLength(1);

    h.source.put(scaledObject('app', { annotations: HPA_MODE, generation: 3, spec: { maxReplicaCount: 9 } }));
    await h.controller.reconcileNow(KEY);
    expect(h.hpa.writes).toEqual([
      { verb: 'create', key: HPA },
      { verb: 'update', key: HPA },
    ]);
    expect(h.hpa.hpas.get(HPA)?.maxReplicas).toBe(9);
    expect(h.events.reasons()).toEqual(['HPACreated', 'HPAUpdated']);
  });

  it('writes only 0 -> 1 and N -> 0; between, the HPA owns the count', async () => {
    // active (3), active (3), inactive from then on
    const h = hpaHarness([3, 3, 0]);
    h.target.set(TARGET, 0);
    h.source.put(scaledObject('app', { annotations: HPA_MODE }));
    await h.controller.reconcileNow(KEY);
    await h.controller.pollNow(KEY);
    expect(h.target.writes).toEqual([{ target: TARGET, replicas: 1 }]);
    expect(h.events.reasons()).toContain('ScaleTargetActivated');

    h.target.set(TARGET, 5); // the HPA scaled up
    await h.clock.advance(1000);
    await h.controller.pollNow(KEY); // direct mode would compute ceil(3 / 1) = 3 and write it
    await h.clock.advance(1000);
    await h.controller.pollNow(KEY); // inactive, in the cooldown (5 s)
    expect(h.target.writes).toHaveLength(1);
    expect(condition(h.writer.patches, 'Active')?.reason).toBe('ScalerCooldown');
    expect(lastField(h.writer.patches, 'desiredReplicas')).toBe(5);

    await h.clock.advance(6000);
    await h.controller.pollNow(KEY);
    expect(h.target.writes).toEqual([
      { target: TARGET, replicas: 1 },
      { target: TARGET, replicas: 0 },
    ]);
    expect(h.events.reasons()).toContain('ScaleTargetDeactivated');
  });

  it('turning the mode off deletes the HPA and direct mode takes over', async () => {
    const h = hpaHarness([3]);
    h.target.set(TARGET, 2);
    h.source.put(scaledObject('app', { annotations: HPA_MODE }));
    await h.controller.reconcileNow(KEY);
    await h.controller.pollNow(KEY);
    expect(h.target.writes).toEqual([]);

    h.source.put(scaledObject('app', { annotations: { [SCALING_MODE]: 'direct' } }));
    await h.controller.reconcileNow(KEY);
    expect(h.hpa.writes).toEqual([
      { verb: 'create', key: HPA },
      { verb: 'delete', key: HPA },
    ]);
    expect(h.events.reasons()).toContain('HPADeleted');
    await h.controller.pollNow(KEY);
    expect(lastField(h.writer.patches, 'hpaName')).toBe(null);
    expect(h.target.writes).toEqual([{ target: TARGET, replicas: 3 }]); // ebb's own ceil(3 / 1)
  });

  it('pausing deletes the HPA (as KEDA); unpausing creates it again', async () => {
    const h = hpaHarness([3]);
    h.target.set(TARGET, 2);
    h.source.put(scaledObject('app', { annotations: HPA_MODE }));
    await h.controller.reconcileNow(KEY);
    h.source.put(scaledObject('app', { annotations: { ...HPA_MODE, 'autoscaling.keda.sh/paused': 'true' } }));
    await h.controller.reconcileNow(KEY);
    expect(h.hpa.hpas.has(HPA)).toBe(false);
    h.source.put(scaledObject('app', { annotations: HPA_MODE }));
    await h.controller.reconcileNow(KEY);
    expect(h.hpa.writes.map((w) => w.verb)).toEqual(['create', 'delete', 'create']);
  });

  it('a deleted ScaledObject takes its HPA with it, without a garbage collector', async () => {
    const h = hpaHarness([3]);
    h.target.set(TARGET, 1);
    h.source.put(scaledObject('app', { annotations: HPA_MODE }));
    await h.controller.reconcileNow(KEY);
    h.source.remove(KEY);
    await h.controller.reconcileNow(KEY);
    await new Promise((r) => setImmediate(r));
    expect(h.hpa.hpas.size).toBe(0);
    expect(h.hpa.writes.map((w) => w.verb)).toEqual(['create', 'delete']);
  });

  it('a renamed HPA: the old one is deleted before the new one is created', async () => {
    const h = hpaHarness([3]);
    h.target.set(TARGET, 1);
    h.source.put(scaledObject('app', { annotations: HPA_MODE }));
    await h.controller.reconcileNow(KEY);
    h.source.put(
      scaledObject('app', {
        annotations: HPA_MODE,
        generation: 2,
        spec: { advanced: { horizontalPodAutoscalerConfig: { name: 'custom' } } },
      }),
    );
    await h.controller.reconcileNow(KEY);
    expect(h.hpa.writes).toEqual([
      { verb: 'create', key: HPA },
      { verb: 'delete', key: HPA },
      { verb: 'create', key: 'ns/custom' },
    ]);
  });

  it('a foreign HPA on the target: Ready=False HPAConflict naming it, a Warning Event, hands off', async () => {
    const h = hpaHarness([3]);
    h.target.set(TARGET, 0);
    h.hpa.foreign.set('ns/theirs', TARGET);
    h.source.put(scaledObject('app', { annotations: HPA_MODE }));
    await h.controller.reconcileNow(KEY);
    const ready = condition(h.writer.patches, 'Ready');
    expect(ready).toMatchObject({ status: 'False', reason: 'HPAConflict' });
    expect(ready?.message).toContain('HorizontalPodAutoscaler ns/theirs');
    expect(h.events.events).toMatchObject([{ type: 'Warning', reason: 'HPAConflict' }]);
    expect(h.controller.polling).toBe(0);
    await h.controller.pollNow(KEY);
    expect(h.target.writes).toEqual([]);
    expect(h.hpa.writes).toEqual([]);
    expect(h.hpa.foreign.has('ns/theirs')).toBe(true);

    // The user deletes theirs: the retry (reconcile) takes over.
    h.hpa.foreign.clear();
    await h.controller.reconcileNow(KEY);
    await h.controller.pollNow(KEY); // a new loop's first poll writes what reconcile wants
    expect(condition(h.writer.patches, 'Ready')?.status).toBe('True');
    expect(h.hpa.writes).toEqual([{ verb: 'create', key: HPA }]);
  });

  it('without an HPA writer (no cluster), HPA mode is refused with a clear reason', async () => {
    const h = hpaHarness([3], false);
    h.target.set(TARGET, 0);
    h.source.put(scaledObject('app', { annotations: HPA_MODE }));
    await h.controller.reconcileNow(KEY);
    expect(condition(h.writer.patches, 'Ready')).toMatchObject({ status: 'False', reason: 'HPAFailed' });
    expect(h.controller.polling).toBe(0);
  });

  it('an API error keeping the HPA: Ready=False HPAFailed, then Ready again once it works', async () => {
    const h = hpaHarness([3]);
    h.target.set(TARGET, 0);
    h.hpa.fail = 'forbidden: horizontalpodautoscalers.autoscaling is forbidden';
    h.source.put(scaledObject('app', { annotations: HPA_MODE }));
    await h.controller.reconcileNow(KEY);
    expect(condition(h.writer.patches, 'Ready')).toMatchObject({ status: 'False', reason: 'HPAFailed' });
    expect(condition(h.writer.patches, 'Ready')?.message).toContain('forbidden');
    h.hpa.fail = undefined;
    await h.controller.reconcileNow(KEY);
    await h.controller.pollNow(KEY);
    expect(condition(h.writer.patches, 'Ready')?.status).toBe('True');
    expect(h.hpa.hpas.has(HPA)).toBe(true);
  });
});
