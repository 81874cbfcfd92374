// Proves the network-namespace test kubelet (test/env/netns.ts, kubelet.ts) against the real
// API server: backends run inside a namespace on 10.213.0.x addresses, answer from the host,
// appear in a real EndpointSlice (the API server refuses loopback addresses there), follow the
// Deployment's replicas, and everything is gone after teardown.
import {
  AppsV1Api,
  DiscoveryV1Api,
  PatchStrategy,
  setHeaderOptions,
  type V1EndpointSlice,
} from '@kubernetes/client-node';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createHttpApp } from '../controller/cluster.ts';
import { startKubelet, type TestKubelet } from '../env/kubelet.ts';
import { createNetns, inTestRange, linkExists, netnsExists, useNetns } from '../env/netns.ts';
import { kubeConfig, useNamespace } from '../env/testing.ts';

const kc = kubeConfig();
const apps = kc.makeApiClient(AppsV1Api);
const discovery = kc.makeApiClient(DiscoveryV1Api);
const ns = useNamespace('netns');
const net = useNetns();

const WAIT = { timeout: 20_000, interval: 50 };

async function createApp(name: string): Promise<void> {
  await createHttpApp(kc, ns.name, name);
}

const scaleTo = (name: string, replicas: number) =>
  apps.patchNamespacedDeploymentScale(
    { name, namespace: ns.name, body: { spec: { replicas } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );

/** `address:ready[:terminating]` of every endpoint in the Service's slices, sorted. */
async function endpointsOf(service: string): Promise<string[]> {
  const slices = await discovery.listNamespacedEndpointSlice({
    namespace: ns.name,
    labelSelector: `kubernetes.io/service-name=${service}`,
  });
  return slices.items
    .flatMap((s: V1EndpointSlice) => s.endpoints ?? [])
    .map((e) => `${e.addresses[0]}:${e.conditions?.ready === true ? 'ready' : 'not-ready'}`)
    .sort();
}

const groupAlive = (pgid: number): boolean => {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
};

const get = async (url: string): Promise<{ status: number; body: Record<string, unknown> }> => {
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

describe('the netns test kubelet', () => {
  const kubelets: TestKubelet[] = [];
  afterAll(async () => {
    await Promise.all(kubelets.map((k) => k.stop()));
  });

  it('runs a backend per replica on its own 10.213.0.x address, publishes them ready, and removes them at 0', async () => {
    await createApp('web');
    const kubelet = await startKubelet({
      kc,
      namespace: ns.name,
      deployment: 'web',
      service: 'web',
      netns: net.current,
    });
    kubelets.push(kubelet);
    expect(kubelet.replicas()).toEqual([]);

    await scaleTo('web', 2);
    const running = await kubelet.settled(2);
    const addresses = running.map((r) => r.address);
    expect(new Set(addresses).size).toBe(2);
    for (const address of addresses) expect(inTestRange(address), address).toBe(true);

    // Each answers from the host at its own address, with its own name.
    for (const r of running) {
      const { status, body } = await get(`http://${r.address}:8080/hello`);
      expect(status).toBe(200);
      expect(body).toMatchObject({ name: r.name, address: r.address, path: '/hello' });
    }

    // The real API server holds a slice with both endpoints ready, and /scale reports 2.
    await vi.waitFor(async () => {
      expect(await endpointsOf('web')).toEqual(addresses.map((a) => `${a}:ready`).sort());
    }, WAIT);
    await vi.waitFor(async () => {
      const scale = await apps.readNamespacedDeploymentScale({ name: 'web', namespace: ns.name });
      const deployment = await apps.readNamespacedDeployment({ name: 'web', namespace: ns.name });
      expect({ scale: scale.status?.replicas, ready: deployment.status?.readyReplicas }).toEqual({
        scale: 2,
        ready: 2,
      });
    }, WAIT);

    await scaleTo('web', 0);
    await kubelet.settled(0);
    for (const r of running) expect(groupAlive(r.pid), `${r.name} (pid ${r.pid})`).toBe(false);
    for (const r of running) {
      await expect(
        fetch(`http://${r.address}:8080/`, { signal: AbortSignal.timeout(2_000) }),
      ).rejects.toThrow();
    }
    await vi.waitFor(async () => {
      expect(await endpointsOf('web')).toEqual([]);
      const scale = await apps.readNamespacedDeploymentScale({ name: 'web', namespace: ns.name });
      expect(scale.status?.replicas ?? 0).toBe(0);
    }, WAIT);
  });

  it('publishes a slow-starting backend not ready until its probe answers, and restarts one that crashes', async () => {
    await createApp('slow');
    const kubelet = await startKubelet({
      kc,
      namespace: ns.name,
      deployment: 'slow',
      service: 'slow',
      netns: net.current,
      startDelayMs: 1_500,
    });
    kubelets.push(kubelet);
    await scaleTo('slow', 1);
    // Starting: in the slice, not ready (the 'web' kubelet's addresses are not reused while it runs).
    await vi.waitFor(async () => {
      const [replica] = kubelet.replicas();
      expect(replica?.phase).toBe('starting');
      expect(await endpointsOf('slow')).toEqual([`${replica?.address}:not-ready`]);
    }, WAIT);
    const [ready] = await kubelet.settled(1);
    if (ready === undefined) throw new Error('no replica');
    expect(await endpointsOf('slow')).toEqual([`${ready.address}:ready`]);

    // A crash: published not ready, restarted on the same address, ready again.
    kubelet.kill(ready.ordinal);
    await vi.waitFor(async () => {
      expect(await endpointsOf('slow')).toEqual([`${ready.address}:not-ready`]);
    }, WAIT);
    const [again] = await kubelet.settled(1);
    expect(again).toMatchObject({ ordinal: ready.ordinal, address: ready.address, restarts: 1 });
    expect((await get(`http://${ready.address}:8080/`)).body).toMatchObject({ name: ready.name });
    await vi.waitFor(async () => {
      expect(await endpointsOf('slow')).toEqual([`${ready.address}:ready`]);
    }, WAIT);
  });
});

describe('the test network namespace', () => {
  it('is created with its veth pair and deleted with it at teardown', async () => {
    const netns = await createNetns();
    try {
      expect(await netnsExists(netns.name)).toBe(true);
      expect(await linkExists(netns.hostInterface)).toBe(true);
      expect(inTestRange(netns.hostAddress) && inTestRange(netns.namespaceAddress)).toBe(true);
      expect(netns.subnet).not.toBe(net.current.subnet); // concurrent namespaces get their own /27
    } finally {
      await netns.delete();
    }
    expect(await netnsExists(netns.name)).toBe(false);
    expect(await linkExists(netns.hostInterface)).toBe(false);
  });
});
