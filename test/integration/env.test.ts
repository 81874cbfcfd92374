// Proves the real-server environment: the kube-apiserver built by test/env is the pinned
// version, serves the scale subresource ebb drives, delivers watch events, and can be restarted
// under a live client.
import {
  AppsV1Api,
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  VersionApi,
  Watch,
} from '@kubernetes/client-node';
import { describe, expect, it, vi } from 'vitest';
import { K8S_VERSION } from '../env/kube.ts';
import { kubeConfig, restartApiServer, startControllerManager, useNamespace } from '../env/testing.ts';

const kc = kubeConfig();
const apps = kc.makeApiClient(AppsV1Api);
const core = kc.makeApiClient(CoreV1Api);
const ns = useNamespace('env');

function deployment(name: string, replicas: number) {
  const labels = { app: name };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: { containers: [{ name: 'app', image: 'example.invalid/app:1' }] },
      },
    },
  };
}

describe('kube test environment', () => {
  it('serves the pinned Kubernetes version', async () => {
    const version = await kc.makeApiClient(VersionApi).getCode();
    expect(version.gitVersion).toBe(K8S_VERSION);
    expect(version.minor).toBe(K8S_VERSION.split('.')[1]);
  });

  it('reads and patches a Deployment through its /scale subresource', async () => {
    await apps.createNamespacedDeployment({ namespace: ns.name, body: deployment('web', 1) });

    const before = await apps.readNamespacedDeploymentScale({ name: 'web', namespace: ns.name });
    expect(before.spec?.replicas).toBe(1);

    const patched = await apps.patchNamespacedDeploymentScale(
      { name: 'web', namespace: ns.name, body: { spec: { replicas: 3 } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    expect(patched.spec?.replicas).toBe(3);

    const after = await apps.readNamespacedDeployment({ name: 'web', namespace: ns.name });
    expect(after.spec?.replicas).toBe(3);
    // No kube-controller-manager or kubelet: nothing acts on the spec, status stays empty.
    expect(after.status?.replicas ?? 0).toBe(0);
  });

  it('delivers ConfigMap watch events', async () => {
    const events: { type: string; name: string; value: string | undefined }[] = [];
    const watch = await new Watch(kc).watch(
      `/api/v1/namespaces/${ns.name}/configmaps`,
      {},
      (type, obj: { metadata?: { name?: string }; data?: Record<string, string> }) => {
        events.push({ type, name: obj.metadata?.name ?? '', value: obj.data?.key });
      },
      () => {},
    );
    try {
      await core.createNamespacedConfigMap({
        namespace: ns.name,
        body: { metadata: { name: 'settings' }, data: { key: 'one' } },
      });
      await core.patchNamespacedConfigMap(
        { name: 'settings', namespace: ns.name, body: { data: { key: 'two' } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      await vi.waitFor(
        () =>
          expect(events).toEqual([
            { type: 'ADDED', name: 'settings', value: 'one' },
            { type: 'MODIFIED', name: 'settings', value: 'two' },
          ]),
        { timeout: 10_000, interval: 20 },
      );
    } finally {
      watch.abort();
    }
  });

  it('runs kube-controller-manager on demand (its deployment controller creates a ReplicaSet)', async () => {
    const kcm = await startControllerManager();
    try {
      await apps.createNamespacedDeployment({ namespace: ns.name, body: deployment('worker', 2) });
      await vi.waitFor(
        async () => {
          const list = await apps.listNamespacedReplicaSet({
            namespace: ns.name,
            labelSelector: 'app=worker',
          });
          const owners = list.items.map(
            (rs) => `${rs.metadata?.ownerReferences?.[0]?.name}:${rs.spec?.replicas}`,
          );
          expect(owners).toEqual(['worker:2']);
        },
        { timeout: 30_000, interval: 100 },
      );
    } finally {
      await kcm.stop();
    }
  });

  it('restarts kube-apiserver on the same address, keeping its data', async () => {
    await restartApiServer();
    const scale = await apps.readNamespacedDeploymentScale({ name: 'web', namespace: ns.name });
    expect(scale.spec?.replicas).toBe(3);
  });
});
