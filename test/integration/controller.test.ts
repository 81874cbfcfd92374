// The controller against a real kube-apiserver (no kubelet: Deployments have no pods, which the
// /scale subresource does not mind). Cron windows are chosen around the current time.
// `kubectl get ebbso` is read as kubectl reads it: the server-side Table of the printer columns.
import {
  ApiException,
  ApiextensionsV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { GROUP, PLURAL, VERSION } from '../../src/api/scaledobject.ts';
import { type RunningController, runController } from '../../src/cli/controller-wiring.ts';
import { FINALIZER } from '../../src/controller/tracked.ts';
import { silentLogger } from '../../src/logging.ts';
import {
  conditionOf,
  createDeployment,
  createScaledObject,
  deleteScaledObject,
  deploymentReplicas,
  getTable,
  installCrd,
  listEvents,
  patchScaledObject,
  readScaledObject,
  tableRows,
} from '../controller/cluster.ts';
import { closedWindow, openWindow } from '../controller/manifests.ts';
import { kubeConfig, kubeConnection, useNamespace } from '../env/testing.ts';

const kc = kubeConfig();
const ns = useNamespace('controller');
let running: RunningController;

const wait = { timeout: 20_000, interval: 200 };
/** `kubectl get ebbso`: the Table the server renders from the printer columns, by name. */
const table = async () =>
  tableRows(await getTable(kc, `/apis/${GROUP}/${VERSION}/namespaces/${ns.name}/${PLURAL}`));

beforeAll(async () => {
  await installCrd(kc);
  running = await runController({
    kubeconfig: kubeConnection().kubeconfigPath,
    namespace: ns.name,
    log: silentLogger,
    eventRefreshMs: 500,
  });
});

afterAll(async () => {
  await running?.stop();
});

describe('ebb controller on a real API server', () => {
  it('scales 0 -> desiredReplicas while the cron window is open, back to 0 after it closes', async () => {
    await createDeployment(kc, ns.name, 'web', 0);
    await createScaledObject(kc, ns.name, 'web', { triggers: [{ type: 'cron', metadata: openWindow(2) }] });
    await vi.waitFor(async () => expect(await deploymentReplicas(kc, ns.name, 'web')).toBe(2), wait);
    const active = await readScaledObject(kc, ns.name, 'web');
    expect(conditionOf(active, 'Ready')).toMatchObject({
      status: 'True',
      reason: 'ScaledObjectReady',
      observedGeneration: 1,
    });
    expect(conditionOf(active, 'Active')).toMatchObject({ status: 'True', reason: 'ScalerActive' });
    expect(conditionOf(active, 'Paused')).toMatchObject({ status: 'False' });
    expect(active.status.originalReplicaCount).toBe(0);
    expect(active.status.externalMetricNames).toEqual(['s0-cron-Etc-UTC-xxxxx-0011x']);
    expect(active.status.lastActiveTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

    await patchScaledObject(kc, ns.name, 'web', {
      spec: { triggers: [{ type: 'cron', metadata: closedWindow(2) }] },
    });
    await vi.waitFor(async () => expect(await deploymentReplicas(kc, ns.name, 'web')).toBe(0), wait);
    const idle = await readScaledObject(kc, ns.name, 'web');
    expect(conditionOf(idle, 'Active')).toMatchObject({ status: 'False' });
    expect(conditionOf(idle, 'Ready')?.observedGeneration).toBe(2);

    await vi.waitFor(async () => {
      const events = (await listEvents(kc, ns.name)).filter((e) => e.regarding === 'ScaledObject/web');
      expect(events.map((e) => e.reason)).toEqual(
        expect.arrayContaining(['ScaleTargetActivated', 'ScaleTargetScaled', 'ScaleTargetDeactivated']),
      );
      expect(events.every((e) => e.reportingController === 'ebb')).toBe(true);
    }, wait);
  });

  it('an idle ScaledObject causes no API writes', async () => {
    await createDeployment(kc, ns.name, 'quiet', 0);
    await createScaledObject(kc, ns.name, 'quiet', {
      triggers: [{ type: 'cron', metadata: closedWindow(1) }],
    });
    await vi.waitFor(async () => {
      expect(conditionOf(await readScaledObject(kc, ns.name, 'quiet'), 'Active')?.reason).toBe(
        'ScalerNotActive',
      );
    }, wait);
    await new Promise((r) => setTimeout(r, 1500)); // let the other objects' writes settle
    const before = running.platform.client.writes();
    await new Promise((r) => setTimeout(r, 3000)); // three polls of every object
    expect(running.platform.client.writes() - before).toBe(0);
  });

  it('kubectl get ebbso: the resolved kind, the replicas, the active trigger and fallback; idle at rest', async () => {
    await createDeployment(kc, ns.name, 'office', 0);
    await createDeployment(kc, ns.name, 'night', 0);
    await createDeployment(kc, ns.name, 'queue', 1);
    // No kind in spec (most objects): the Kind column must still read the resolved Deployment.
    await createScaledObject(kc, ns.name, 'office', {
      triggers: [{ type: 'cron', name: 'office-hours', metadata: openWindow(2) }],
    });
    await createScaledObject(kc, ns.name, 'night', {
      spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'night' } },
      triggers: [{ type: 'cron', metadata: closedWindow(1) }],
    });
    // A broker that refuses connections: the trigger fails, fallback takes over after one failure.
    await createScaledObject(kc, ns.name, 'queue', {
      spec: { fallback: { failureThreshold: 1, replicas: 3 } },
      triggers: [
        {
          type: 'rabbitmq',
          name: 'orders',
          metadata: {
            host: 'amqp://guest:guest@127.0.0.1:1/',
            queueName: 'orders',
            mode: 'QueueLength',
            value: '5',
          },
        },
      ],
    });

    await vi.waitFor(async () => {
      const rows = await table();
      expect(rows.get('office')).toMatchObject({
        Kind: 'apps/v1.Deployment',
        Target: 'office',
        Replicas: 2,
        Desired: 2,
        Ready: 'True',
        Active: 'True',
        ActiveTriggers: 'office-hours',
        Fallback: 'False',
        Paused: 'False',
        Triggers: 'cron',
      });
      expect(rows.get('night')).toMatchObject({
        Kind: 'apps/v1.Deployment',
        Replicas: 0,
        Desired: 0,
        Ready: 'True',
        Active: 'False',
        ActiveTriggers: null,
        Fallback: 'False',
      });
      expect(rows.get('queue')).toMatchObject({
        Kind: 'apps/v1.Deployment',
        Replicas: 3,
        Desired: 3,
        Active: 'True',
        ActiveTriggers: 'orders',
        Fallback: 'True',
        Triggers: 'rabbitmq',
      });
    }, wait);

    // The new fields are part of the status diff: at rest, no writes (0 writes/min is a bench target).
    await new Promise((r) => setTimeout(r, 1500));
    const before = running.platform.client.writes();
    await new Promise((r) => setTimeout(r, 3000)); // three polls of every object
    expect(running.platform.client.writes() - before).toBe(0);
    // A restarted controller announces a failing trigger again (an Event): not for the restart test.
    await deleteScaledObject(kc, ns.name, 'queue');
    await vi.waitFor(
      async () => expect((await readScaledObject(kc, ns.name, 'queue')).exists).toBe(false),
      wait,
    );
  });

  it('paused-replicas holds the target at N; removing the annotation resumes scaling', async () => {
    await createDeployment(kc, ns.name, 'paused', 0);
    await createScaledObject(kc, ns.name, 'paused', {
      annotations: { 'autoscaling.keda.sh/paused-replicas': '3' },
      triggers: [{ type: 'cron', metadata: openWindow(1) }],
    });
    await vi.waitFor(async () => expect(await deploymentReplicas(kc, ns.name, 'paused')).toBe(3), wait);
    await vi.waitFor(async () => {
      const so = await readScaledObject(kc, ns.name, 'paused');
      expect(so.status.pausedReplicaCount).toBe(3);
      expect(conditionOf(so, 'Paused')).toMatchObject({ status: 'True', reason: 'ScaledObjectPaused' });
    }, wait);
    await new Promise((r) => setTimeout(r, 1500));
    expect(await deploymentReplicas(kc, ns.name, 'paused')).toBe(3); // not polled while paused

    await patchScaledObject(kc, ns.name, 'paused', {
      metadata: { annotations: { 'autoscaling.keda.sh/paused-replicas': null } },
    });
    await vi.waitFor(async () => expect(await deploymentReplicas(kc, ns.name, 'paused')).toBe(1), wait);
    const so = await readScaledObject(kc, ns.name, 'paused');
    expect(so.status.pausedReplicaCount).toBeUndefined();
    expect(conditionOf(so, 'Paused')).toMatchObject({ status: 'False', reason: 'ScaledObjectUnpaused' });
  });

  it('restores the original replica count on delete with restoreToOriginalReplicaCount', async () => {
    await createDeployment(kc, ns.name, 'restore', 4);
    await createScaledObject(kc, ns.name, 'restore', {
      triggers: [{ type: 'cron', metadata: closedWindow(1) }],
      spec: { advanced: { restoreToOriginalReplicaCount: true } },
    });
    await vi.waitFor(async () => expect(await deploymentReplicas(kc, ns.name, 'restore')).toBe(0), wait);
    const so = await readScaledObject(kc, ns.name, 'restore');
    expect(so.finalizers).toContain(FINALIZER);
    expect(so.status.originalReplicaCount).toBe(4);

    await deleteScaledObject(kc, ns.name, 'restore');
    await vi.waitFor(
      async () => expect((await readScaledObject(kc, ns.name, 'restore')).exists).toBe(false),
      wait,
    );
    expect(await deploymentReplicas(kc, ns.name, 'restore')).toBe(4);
    await new Promise((r) => setTimeout(r, 1500)); // deleting an object stops its loop
    expect(await deploymentReplicas(kc, ns.name, 'restore')).toBe(4);
  });

  it('refuses an invalid spec with Ready=False and a Warning Event naming the field', async () => {
    await createDeployment(kc, ns.name, 'bad', 1);
    await createScaledObject(kc, ns.name, 'bad', {
      triggers: [
        { type: 'kafka-nope', metadata: {} },
        { type: 'cron', metadata: { ...openWindow(5), start: 'every morning' } },
      ],
    });
    await vi.waitFor(async () => {
      const ready = conditionOf(await readScaledObject(kc, ns.name, 'bad'), 'Ready');
      expect(ready).toMatchObject({ status: 'False', reason: 'UnsupportedTriggerType' });
      expect(ready?.message).toContain('spec.triggers[0].type');
      expect(ready?.message).toContain('spec.triggers[1].metadata.start');
    }, wait);
    await vi.waitFor(async () => {
      const warning = (await listEvents(kc, ns.name)).find((e) => e.regarding === 'ScaledObject/bad');
      expect(warning).toMatchObject({ type: 'Warning', reason: 'UnsupportedTriggerType' });
      expect(warning?.note).toContain('spec.triggers[0].type');
    }, wait);
    expect(await deploymentReplicas(kc, ns.name, 'bad')).toBe(1);
  });

  it('refuses the later of two ScaledObjects on one target, naming the other', async () => {
    await createDeployment(kc, ns.name, 'shared', 0);
    await createScaledObject(kc, ns.name, 'first', {
      target: 'shared',
      triggers: [{ type: 'cron', metadata: openWindow(1) }],
    });
    await vi.waitFor(async () => expect(await deploymentReplicas(kc, ns.name, 'shared')).toBe(1), wait);
    await createScaledObject(kc, ns.name, 'second', {
      target: 'shared',
      triggers: [{ type: 'cron', metadata: openWindow(3) }],
    });
    await vi.waitFor(async () => {
      const ready = conditionOf(await readScaledObject(kc, ns.name, 'second'), 'Ready');
      expect(ready).toMatchObject({ status: 'False', reason: 'ScaleTargetInUse' });
      expect(ready?.message).toContain(`ScaledObject ${ns.name}/first`);
    }, wait);
    await new Promise((r) => setTimeout(r, 1500));
    expect(await deploymentReplicas(kc, ns.name, 'shared')).toBe(1);
  });

  it('scales a custom resource through its /scale subresource, found by discovery', async () => {
    const ext = kc.makeApiClient(ApiextensionsV1Api);
    try {
      await ext.createCustomResourceDefinition({
        body: {
          metadata: { name: 'widgets.test.ebb.dev' },
          spec: {
            group: 'test.ebb.dev',
            names: { kind: 'Widget', plural: 'widgets', singular: 'widget', listKind: 'WidgetList' },
            scope: 'Namespaced',
            versions: [
              {
                name: 'v1',
                served: true,
                storage: true,
                schema: {
                  openAPIV3Schema: {
                    type: 'object',
                    properties: {
                      spec: { type: 'object', properties: { size: { type: 'integer' } } },
                      status: { type: 'object', properties: { size: { type: 'integer' } } },
                    },
                  },
                },
                subresources: {
                  scale: { specReplicasPath: '.spec.size', statusReplicasPath: '.status.size' },
                },
              },
            ],
          },
        },
      });
    } catch (err) {
      if (!(err instanceof ApiException && err.code === 409)) throw err;
    }
    const objects = kc.makeApiClient(CustomObjectsApi);
    const widget = { group: 'test.ebb.dev', version: 'v1', namespace: ns.name, plural: 'widgets' };
    await vi.waitFor(
      () =>
        objects.createNamespacedCustomObject({
          ...widget,
          body: {
            apiVersion: 'test.ebb.dev/v1',
            kind: 'Widget',
            metadata: { name: 'gizmo' },
            spec: { size: 0 },
          },
        }),
      wait,
    );
    await createScaledObject(kc, ns.name, 'gizmo', {
      spec: { scaleTargetRef: { apiVersion: 'test.ebb.dev/v1', kind: 'Widget', name: 'gizmo' } },
      triggers: [{ type: 'cron', metadata: openWindow(2) }],
    });
    const size = async () =>
      (
        (await objects.getNamespacedCustomObject({ ...widget, name: 'gizmo' })) as {
          spec?: { size?: number };
        }
      ).spec?.size;
    await vi.waitFor(async () => expect(await size()).toBe(2), wait);
    // A change made by someone else is seen (the informer marks the cached /scale stale).
    await objects.patchNamespacedCustomObject(
      { ...widget, name: 'gizmo', body: { spec: { size: 7 } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await vi.waitFor(async () => expect(await size()).toBe(2), wait); // scaled back by the HPA formula
  });

  // Last: it replaces the controller every test above used.
  it('a restarted controller continues from status without rewriting anything', async () => {
    await new Promise((r) => setTimeout(r, 1500)); // the objects above settle
    await running.stop();
    running = await runController({
      kubeconfig: kubeConnection().kubeconfigPath,
      namespace: ns.name,
      log: silentLogger,
      eventRefreshMs: 500,
    });
    await vi.waitFor(() => expect(running.controller()?.pending).toBe(0), wait);
    await new Promise((r) => setTimeout(r, 2500)); // every object polled at least twice
    const polling = running.controller()?.polling ?? 0;
    expect(polling).toBeGreaterThanOrEqual(5);
    expect(running.platform.client.writes()).toBe(0);
  });
});
