import { describe, expect, it } from 'vitest';
import type { Problem } from '../../src/api/reasons.ts';
import { admitScaledObject } from '../../src/controller/admission.ts';

const cronTrigger = {
  type: 'cron',
  metadata: { timezone: 'Europe/Berlin', start: '0 8 * * 1-5', end: '0 18 * * 1-5', desiredReplicas: '3' },
};

const scaledObject = (spec: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'autoscaling.ebb.dev/v1alpha1',
  kind: 'ScaledObject',
  metadata: { name: 'web', namespace: 'default' },
  spec: { scaleTargetRef: { name: 'web' }, triggers: [cronTrigger], ...spec },
  ...extra,
});

const paths = (problems: readonly Problem[]) => problems.map((p) => p.path);

describe('admitScaledObject', () => {
  it('admits a cron ScaledObject and hands back what the controller needs', () => {
    const admission = admitScaledObject(scaledObject());
    expect(admission.ok).toBe(true);
    if (!admission.ok) return;
    expect(admission.object.metadata.name).toBe('web');
    expect(admission.pause).toEqual({ pause: { kind: 'none' }, scaleInPaused: false, scaleOutPaused: false });
    expect(admission.triggers.map((t) => [t.key, t.metric.name])).toEqual([
      ['s0-cron-Europe-Berlin-08xx1-5-018xx1-5', 's0-cron-Europe-Berlin-08xx1-5-018xx1-5'],
    ]);
  });

  it.each([
    { label: "ebb's apiVersion", apiVersion: 'autoscaling.ebb.dev/v1alpha1', problems: [] },
    { label: "KEDA's apiVersion", apiVersion: 'keda.sh/v1alpha1', problems: [] },
    {
      label: "KEDA v1's apiVersion",
      apiVersion: 'keda.k8s.io/v1alpha1',
      problems: [
        {
          path: 'apiVersion',
          reason: 'InvalidSpec',
          message:
            'must be "autoscaling.ebb.dev/v1alpha1" (or KEDA\'s "keda.sh/v1alpha1"), got "keda.k8s.io/v1alpha1"',
        },
      ],
    },
  ])('apiVersion: $label', ({ apiVersion, problems }) => {
    expect(admitScaledObject(scaledObject({}, { apiVersion })).problems).toEqual(problems);
  });

  it.each([
    { label: 'null', raw: null, message: 'must be a ScaledObject, got null' },
    { label: 'a list', raw: [1], message: 'must be a ScaledObject, got a list' },
    { label: 'a string', raw: 'hello', message: 'must be a ScaledObject, got string "hello"' },
  ])('a document that is $label is one problem at the root', ({ raw, message }) => {
    expect(admitScaledObject(raw).problems).toEqual([{ path: '<root>', reason: 'InvalidSpec', message }]);
  });

  it('reports a wrong kind and a missing name', () => {
    const admission = admitScaledObject({ ...scaledObject(), kind: 'ScaledJob', metadata: {} });
    expect(paths(admission.problems)).toEqual(['kind', 'metadata.name']);
  });

  it('reports a cross-field rule and an unsupported trigger type together', () => {
    const admission = admitScaledObject(
      scaledObject({
        triggers: [{ type: 'prometheus', metadata: { lagThreshold: '5' } }],
        fallback: { failureThreshold: 3, replicas: 2, behavior: 'scalingModifiers' },
      }),
    );
    expect(admission.problems).toEqual([
      {
        path: 'spec.fallback.behavior',
        reason: 'InvalidSpec',
        message: 'scalingModifiers needs spec.advanced.scalingModifiers.formula',
      },
      {
        path: 'spec.triggers[0].type',
        reason: 'UnsupportedTriggerType',
        message: 'trigger type "prometheus" is not supported yet',
      },
    ]);
  });

  it('still runs the rules on the parts that parsed when the structure is broken elsewhere', () => {
    const admission = admitScaledObject(
      scaledObject({
        pollingInterval: -5,
        triggers: [{ type: 'prometheus', metadata: { lagThreshold: '5' } }],
        fallback: { failureThreshold: 3, replicas: 2, behavior: 'scalingModifiers' },
      }),
    );
    expect(admission.problems).toEqual([
      { path: 'spec.pollingInterval', reason: 'InvalidSpec', message: 'must be >= 1, got -5' },
      {
        path: 'spec.fallback.behavior',
        reason: 'InvalidSpec',
        message: 'scalingModifiers needs spec.advanced.scalingModifiers.formula',
      },
      {
        path: 'spec.triggers[0].type',
        reason: 'UnsupportedTriggerType',
        message: 'trigger type "prometheus" is not supported yet',
      },
    ]);
  });

  it('checks the triggers that parsed, keeping their indices, beside one that did not', () => {
    const admission = admitScaledObject(
      scaledObject({
        triggers: [
          { metadata: {} },
          { ...cronTrigger, name: 'office' },
          { ...cronTrigger, name: 'office', metadata: { ...cronTrigger.metadata, desiredReplicas: '0' } },
        ],
      }),
    );
    expect(admission.problems).toEqual([
      { path: 'spec.triggers[0].type', reason: 'InvalidSpec', message: 'is required' },
      {
        path: 'spec.triggers[2].name',
        reason: 'InvalidSpec',
        message: 'trigger name "office" is already used by spec.triggers[1]',
      },
      {
        path: 'spec.triggers[2].metadata.desiredReplicas',
        reason: 'InvalidTriggerMetadata',
        message: 'must be an integer greater than 0, got "0"',
      },
    ]);
  });

  it.each([
    {
      label: 'an unparsed minReplicaCount does not read as 0 for the idle rule',
      spec: { minReplicaCount: '2', idleReplicaCount: 0 },
      paths: ['spec.minReplicaCount'],
    },
    {
      label: 'an unparsed maxReplicaCount does not read as 100 for min <= max',
      spec: { minReplicaCount: 10, maxReplicaCount: -1 },
      paths: ['spec.maxReplicaCount'],
    },
    {
      label: 'a broken trigger does not make the others look cpu-only',
      spec: { triggers: [{ type: 'cpu', metadata: { value: '50' } }, { type: 'cron' }] },
      paths: ['spec.triggers[1].metadata', 'spec.triggers[0].type'],
    },
    {
      label: 'rules on parsed fields still run: min > max',
      spec: { pollingInterval: 0, minReplicaCount: 10, maxReplicaCount: 5 },
      paths: ['spec.pollingInterval', 'spec.minReplicaCount'],
    },
  ])('no spurious problems: $label', ({ spec, paths: expected }) => {
    expect(paths(admitScaledObject(scaledObject(spec)).problems)).toEqual(expected);
  });

  it('reports metadata values that are not strings with the value', () => {
    const admission = admitScaledObject(
      scaledObject({
        triggers: [{ ...cronTrigger, metadata: { ...cronTrigger.metadata, desiredReplicas: 10 } }],
      }),
    );
    expect(admission.problems).toEqual([
      {
        path: 'spec.triggers[0].metadata.desiredReplicas',
        reason: 'InvalidSpec',
        message: 'must be of type string, got number 10',
      },
    ]);
  });

  it('reports pause annotations beside spec problems', () => {
    const admission = admitScaledObject({
      ...scaledObject({ minReplicaCount: 10, maxReplicaCount: 5 }),
      metadata: { name: 'web', annotations: { 'autoscaling.keda.sh/paused-replicas': 'three' } },
    });
    expect(admission.problems).toEqual([
      {
        path: 'metadata.annotations["autoscaling.keda.sh/paused-replicas"]',
        reason: 'InvalidSpec',
        message: 'must be a non-negative integer, got "three"',
      },
      {
        path: 'spec.minReplicaCount',
        reason: 'InvalidSpec',
        message: 'minReplicaCount (10) must be <= maxReplicaCount (5)',
      },
    ]);
  });

  it('returns the pause settings of an admitted object', () => {
    const admission = admitScaledObject({
      ...scaledObject(),
      metadata: { name: 'web', annotations: { 'autoscaling.keda.sh/paused-replicas': '0' } },
    });
    expect(admission).toMatchObject({ ok: true, pause: { pause: { kind: 'pausedReplicas', replicas: 0 } } });
  });
});
