import { describe, expect, it } from 'vitest';
import { FINALIZER } from '../../src/controller/tracked.ts';
import { condition, eventually, harness, reading, ScriptedScaler, scaledObject, settle } from './fakes.ts';

const KEY = 'ns/app';
const TARGET = 'Deployment/ns/app';

/** A harness whose every scaler reads `values` in turn (the last repeats); `fail` for errors. */
const scripted = (values: readonly (number | 'fail')[]) => {
  let n = 0;
  return harness({
    script: (resolved) =>
      new ScriptedScaler(resolved.metric, () => {
        const v = values[Math.min(n++, values.length - 1)];
        return v === 'fail'
          ? { ok: false, error: { reason: 'KafkaError', message: 'broker down' } }
          : reading(v ?? 0);
      }),
  });
};

describe('controller poll', () => {
  it('writes nothing when nothing changed: no status patch, no scale, no Event', async () => {
    const h = scripted([0]);
    h.target.set(TARGET, 0);
    h.source.put(scaledObject('app'));
    await h.controller.reconcileNow(KEY);
    await h.controller.pollNow(KEY);
    const writes = h.writer.patches.length;
    expect(writes).toBeGreaterThan(0); // the first poll sets conditions
    expect(condition(h.writer.patches, 'Active')?.reason).toBe('ScalerNotActive');
    for (let i = 0; i < 5; i++) {
      await h.clock.advance(1000);
      await h.controller.pollNow(KEY);
    }
    // A reconcile caused by our own status write changes nothing either.
    await h.controller.reconcileNow(KEY);
    expect(h.writer.patches.length).toBe(writes);
    expect(h.target.writes).toEqual([]);
    expect(h.events.events).toEqual([]);
  });

  it('activates 0 -> N with an Event, then scales to zero only after the cooldown', async () => {
    const h = scripted([3, 3, 0]);
    h.target.set(TARGET, 0);
    h.source.put(scaledObject('app'));
    await h.controller.reconcileNow(KEY);
    await h.controller.pollNow(KEY);
    expect(h.target.get(TARGET)).toBe(1); // max(minReplicaCount, 1)
    expect(h.events.reasons()).toEqual(['ScaleTargetActivated']);
    expect(condition(h.writer.patches, 'Active')?.status).toBe('True');
    const first = h.writer.patches[h.writer.patches.length - 1]?.patch;
    expect(first?.originalReplicaCount).toBe(0);
    expect(first?.lastActiveTime).toBe('2025-01-06T10:00:00Z');

    await h.clock.advance(1000);
    await h.controller.pollNow(KEY);
    expect(h.target.get(TARGET)).toBe(3); // the HPA formula: ceil(3 / 1)
    expect(h.events.reasons()).toEqual(['ScaleTargetActivated', 'ScaleTargetScaled']);

    await h.clock.advance(1000);
    await h.controller.pollNow(KEY); // inactive from here: cooldown 5 s
    expect(h.target.get(TARGET)).toBe(3);
    expect(condition(h.writer.patches, 'Active')?.reason).toBe('ScalerCooldown');
    expect(h.writer.patches[h.writer.patches.length - 1]?.patch.lastActiveTime).toBe('2025-01-06T10:00:01Z');
    await h.clock.advance(3000);
    await h.controller.pollNow(KEY);
    expect(h.target.get(TARGET)).toBe(3);
    await h.clock.advance(3000);
    await h.controller.pollNow(KEY);
    expect(h.target.get(TARGET)).toBe(0);
    expect(h.events.reasons()).toEqual([
      'ScaleTargetActivated',
      'ScaleTargetScaled',
      'ScaleTargetDeactivated',
    ]);
    expect(h.target.writes.map((w) => w.replicas)).toEqual([1, 3, 0]);
  });

  it('rebuilds a failing scaler and reads it again within the same poll', async () => {
    const h = harness({
      script: (resolved) => {
        const fresh = new ScriptedScaler(resolved.metric, () => reading(2));
        return h.scalers.length === 0
          ? new ScriptedScaler(resolved.metric, () => ({
              ok: false,
              error: { reason: 'KafkaError', message: 'connection reset' },
            }))
          : fresh;
      },
    });
    h.target.set(TARGET, 0);
    h.source.put(scaledObject('app'));
    await h.controller.reconcileNow(KEY);
    await h.controller.pollNow(KEY);
    expect(h.scalers.length).toBe(2);
    expect(h.scalers[0]?.closed).toBe(true);
    expect(h.target.get(TARGET)).toBe(1);
    expect(h.events.reasons()).toEqual(['ScaleTargetActivated']);
  });

  it('never scales to zero on a trigger error; one ScalerFailed Event, then ScalerRecovered', async () => {
    const h = scripted([2, 'fail', 'fail', 'fail', 'fail', 'fail', 'fail', 0]);
    h.target.set(TARGET, 0);
    h.source.put(scaledObject('app', { spec: { cooldownPeriod: 0 } }));
    await h.controller.reconcileNow(KEY);
    await h.controller.pollNow(KEY); // active: 0 -> 1
    for (let i = 0; i < 3; i++) {
      await h.clock.advance(1000);
      await h.controller.pollNow(KEY); // each poll: read fails, rebuilt, fails again
    }
    expect(h.target.get(TARGET)).toBe(1);
    expect(condition(h.writer.patches, 'Ready')).toMatchObject({ status: 'False', reason: 'TriggerError' });
    expect(h.events.reasons()).toEqual(['ScaleTargetActivated', 'ScalerFailed']);
    const failed = h.events.events.find((e) => e.reason === 'ScalerFailed');
    expect(failed?.type).toBe('Warning');
    expect(failed?.note).toMatch(
      /trigger "s0-cron-Etc-UTC-06xxx-020xxx" \(cron\) failed: KafkaError: broker down/,
    );
    await h.clock.advance(1000);
    await h.controller.pollNow(KEY);
    expect(h.events.reasons()).toContain('ScalerRecovered');
    expect(condition(h.writer.patches, 'Ready')).toMatchObject({
      status: 'True',
      reason: 'ScaledObjectReady',
    });
  });

  it('continues from status after a restart: an object active before waits out the cooldown from now', async () => {
    const h = scripted([0]);
    h.target.set(TARGET, 3);
    h.source.put(
      scaledObject('app', {
        status: {
          lastActiveTime: '2025-01-06T09:00:00Z',
          conditions: [{ type: 'Active', status: 'True', reason: 'ScalerActive', message: 'x' }],
        },
      }),
    );
    await h.controller.reconcileNow(KEY);
    await h.controller.pollNow(KEY);
    expect(h.target.get(TARGET)).toBe(3); // cooldown 5 s counts from the restart
    await h.clock.advance(6000);
    await h.controller.pollNow(KEY);
    expect(h.target.get(TARGET)).toBe(0);
  });

  it('reports an unreadable target as Ready=False with one Warning Event', async () => {
    const h = scripted([1]);
    h.source.put(scaledObject('app'));
    await h.controller.reconcileNow(KEY);
    await h.controller.pollNow(KEY);
    await h.controller.pollNow(KEY);
    expect(condition(h.writer.patches, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'ScaleTargetNotFound',
    });
    expect(h.events.reasons()).toEqual(['ScaleTargetNotFound']);
  });
});

describe('controller reconcile', () => {
  it('refuses an invalid spec: Ready=False naming the field, a Warning Event, no polling', async () => {
    const h = scripted([1]);
    h.target.set(TARGET, 0);
    h.source.put(scaledObject('app', { triggers: [{ type: 'nope', metadata: {} }] }));
    await h.controller.reconcileNow(KEY);
    await h.controller.reconcileNow(KEY);
    const ready = condition(h.writer.patches, 'Ready');
    expect(ready).toMatchObject({ status: 'False', reason: 'UnsupportedTriggerType', observedGeneration: 1 });
    expect(ready?.message).toContain('spec.triggers[0].type');
    expect(h.events.events).toHaveLength(1);
    expect(h.events.events[0]).toMatchObject({ type: 'Warning', reason: 'UnsupportedTriggerType' });
    expect(h.controller.polling).toBe(0);
    expect(h.writer.patches).toHaveLength(1);
  });

  it('refuses bad cron metadata with the metadata path', async () => {
    const h = scripted([1]);
    h.source.put(
      scaledObject('app', {
        triggers: [
          {
            type: 'cron',
            metadata: { timezone: 'Etc/UTC', start: 'never', end: '0 1 * * *', desiredReplicas: '1' },
          },
        ],
      }),
    );
    await h.controller.reconcileNow(KEY);
    const ready = condition(h.writer.patches, 'Ready');
    expect(ready).toMatchObject({ status: 'False', reason: 'InvalidTriggerMetadata' });
    expect(ready?.message).toContain('spec.triggers[0].metadata.start');
  });

  it('gives a target to the older of two ScaledObjects; the later is refused until the first goes', async () => {
    const h = scripted([0]);
    h.target.set('Deployment/ns/shared', 0);
    h.source.put(scaledObject('b', { target: 'shared', created: '2025-01-06T10:00:05Z' }));
    h.source.put(scaledObject('a', { target: 'shared', created: '2025-01-06T10:00:00Z' }));
    await h.controller.start();
    await eventually(() => {
      const bReady = condition(
        h.writer.patches.filter((p) => p.key === 'ns/b'),
        'Ready',
      );
      expect(bReady).toMatchObject({ status: 'False', reason: 'ScaleTargetInUse' });
      expect(bReady?.message).toContain('ScaledObject ns/a');
      expect(h.controller.polling).toBe(1);
    });
    h.source.remove('ns/a');
    for (let i = 0; i < 20; i++) {
      await settle();
      await h.controller.pollNow('ns/b'); // a new loop's Ready=True goes out with its first poll
    }
    await eventually(() => {
      const bReady = condition(
        h.writer.patches.filter((p) => p.key === 'ns/b'),
        'Ready',
      );
      expect(bReady).toMatchObject({ status: 'True', reason: 'ScaledObjectReady' });
    });
    await h.controller.stop();
  });

  it('paused-replicas holds the target at N without polling; removing it resumes', async () => {
    const h = scripted([0]);
    h.target.set(TARGET, 5);
    h.source.put(scaledObject('app', { annotations: { 'autoscaling.keda.sh/paused-replicas': '2' } }));
    await h.controller.reconcileNow(KEY);
    expect(h.target.get(TARGET)).toBe(2);
    expect(h.controller.polling).toBe(0);
    const last = h.writer.patches[h.writer.patches.length - 1]?.patch;
    expect(last?.pausedReplicaCount).toBe(2);
    expect(condition(h.writer.patches, 'Paused')).toMatchObject({
      status: 'True',
      reason: 'ScaledObjectPaused',
    });

    h.source.put(scaledObject('app'));
    await h.controller.reconcileNow(KEY);
    expect(h.controller.polling).toBe(1);
    expect(h.writer.patches[h.writer.patches.length - 1]?.patch.pausedReplicaCount).toBeNull();
    expect(condition(h.writer.patches, 'Paused')).toMatchObject({
      status: 'False',
      reason: 'ScaledObjectUnpaused',
    });
  });

  it('paused keeps the count and stops polling', async () => {
    const h = scripted([5]);
    h.target.set(TARGET, 4);
    h.source.put(scaledObject('app', { annotations: { 'autoscaling.ebb.dev/paused': 'true' } }));
    await h.controller.reconcileNow(KEY);
    expect(h.controller.polling).toBe(0);
    expect(h.target.writes).toEqual([]);
    expect(condition(h.writer.patches, 'Paused')?.status).toBe('True');
  });

  it('adds the finalizer with restoreToOriginalReplicaCount and restores the count on delete', async () => {
    const h = scripted([0]);
    h.target.set(TARGET, 4);
    const spec = { advanced: { restoreToOriginalReplicaCount: true } };
    h.source.put(scaledObject('app', { spec }));
    await h.controller.reconcileNow(KEY);
    expect(h.writer.finalizerWrites).toEqual([{ key: KEY, finalizers: [FINALIZER] }]);
    await h.controller.reconcileNow(KEY);
    await h.clock.advance(1000);
    await h.controller.pollNow(KEY); // never active, creation + initialCooldownPeriod (0) passed: 4 -> 0
    expect(h.target.get(TARGET)).toBe(0);
    expect(h.writer.patches.some((p) => p.patch.originalReplicaCount === 4)).toBe(true);

    h.source.put(
      scaledObject('app', { spec, finalizers: [FINALIZER], deletionTimestamp: '2025-01-06T10:01:00Z' }),
    );
    await h.controller.reconcileNow(KEY);
    expect(h.target.get(TARGET)).toBe(4);
    expect(h.events.reasons()).toContain('ScaleTargetRestored');
    expect(h.writer.finalizerWrites[h.writer.finalizerWrites.length - 1]?.finalizers).toEqual([]);
    expect(h.source.objects.has(KEY)).toBe(false);
    expect(h.controller.polling).toBe(0);
  });

  it('without the option, a leftover finalizer is removed at once', async () => {
    const h = scripted([0]);
    h.target.set(TARGET, 1);
    h.source.put(scaledObject('app', { finalizers: [FINALIZER, 'other/keep'] }));
    await h.controller.reconcileNow(KEY);
    expect(h.writer.finalizerWrites).toEqual([{ key: KEY, finalizers: ['other/keep'] }]);
  });

  it('rebuilds scalers when the generation changes and closes them when the object is deleted', async () => {
    const h = scripted([0]);
    h.target.set(TARGET, 0);
    h.source.put(scaledObject('app'));
    await h.controller.reconcileNow(KEY);
    await h.controller.reconcileNow(KEY); // same generation: nothing rebuilt
    expect(h.scalers).toHaveLength(1);
    h.source.put(scaledObject('app', { generation: 2, spec: { pollingInterval: 5 } }));
    await h.controller.reconcileNow(KEY);
    expect(h.scalers).toHaveLength(2);
    expect(h.scalers[0]?.closed).toBe(true);
    h.source.remove(KEY);
    await h.controller.reconcileNow(KEY);
    expect(h.scalers[1]?.closed).toBe(true);
    expect(h.controller.polling).toBe(0);
  });
});
