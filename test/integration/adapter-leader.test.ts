// The adapter Service follows the Lease: its Service has no selector and the leader keeps the
// EndpointSlice `<service>-leader` naming itself (`ebb run --adapter-service`). Controllers with
// leader election on a short lease (4 s / renew 3 s / retry 1 s), each with its own fake pod IP
// in 10.213.0.0/24 (the API server refuses loopback addresses in EndpointSlices; nothing
// connects to them here). Proven against the real API server:
// - the writer: a new leader overwrites, a leaving one removes only what is still its own;
// - the real aggregator's availability check finds the leader's endpoint by the port name;
// - a leader that dies (no release, no cleanup): the slice names the standby within the lease;
// - a graceful stop hands over; a leader that lost the lease while stalled steps down and its
//   graceful stop leaves the successor's endpoint alone.
import {
  ApiException,
  ApiregistrationV1Api,
  CoordinationV1Api,
  CoreV1Api,
  DiscoveryV1Api,
  type V1EndpointSlice,
  V1MicroTime,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type RunningController, runController } from '../../src/cli/controller-wiring.ts';
import { silentLogger } from '../../src/logging.ts';
import { kubernetesPlatform } from '../../src/platform/kubernetes/index.ts';
import { HOLDER_ANNOTATION, leaderSliceName } from '../../src/platform/kubernetes/leader-endpoints.ts';
import type { AdapterEndpoint } from '../../src/platform/ports.ts';
import { installCrd } from '../controller/cluster.ts';
import { kubeConfig, kubeConnection, useNamespace } from '../env/testing.ts';

const kc = kubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const discovery = kc.makeApiClient(DiscoveryV1Api);
const coordination = kc.makeApiClient(CoordinationV1Api);
const registration = kc.makeApiClient(ApiregistrationV1Api);
const ns = useNamespace('adapter-leader');
const SERVICE = 'ebb-metrics-adapter';
const LEASE = 'ebb-adapter-leader';
const LEASE_MS = 4000;
const controllers: RunningController[] = [];

const notFound = (err: unknown) => err instanceof ApiException && err.code === 404;

const readSlice = async (service = SERVICE): Promise<V1EndpointSlice | undefined> => {
  try {
    return await discovery.readNamespacedEndpointSlice({
      namespace: ns.name,
      name: leaderSliceName(service),
    });
  } catch (err) {
    if (notFound(err)) return undefined;
    throw err;
  }
};

/** Who the slice names: holder, address, port, pod; undefined when there is no slice. */
const named = async (service = SERVICE) => {
  const slice = await readSlice(service);
  if (slice === undefined) return undefined;
  const endpoints = slice.endpoints ?? [];
  return {
    holder: slice.metadata?.annotations?.[HOLDER_ANNOTATION],
    addresses: endpoints.flatMap((e) => e.addresses),
    ready: endpoints.map((e) => e.conditions?.ready),
    ports: (slice.ports ?? []).map((p) => `${p.name}:${p.port}`),
    pod: endpoints[0]?.targetRef?.name,
  };
};

const adapterPortOf = (c: RunningController) => Number(new URL(c.adapterUrl ?? 'https://invalid').port);

/** What the slice must say while `c` (started by `start`) leads. */
const namesController = (c: RunningController, address: string) => ({
  holder: c.identity,
  addresses: [address],
  ready: [true],
  ports: [`https:${adapterPortOf(c)}`],
  pod: `pod-${c.identity}`,
});

const TIMINGS = { leaseDurationMs: LEASE_MS, renewDeadlineMs: 3000, retryPeriodMs: 1000 };

const start = async (identity: string, address: string, graceful: boolean, timings = TIMINGS) => {
  const c = await runController({
    kubeconfig: kubeConnection().kubeconfigPath,
    namespace: ns.name,
    log: silentLogger,
    leaderElect: true,
    leaseName: LEASE,
    leaseNamespace: ns.name,
    ...timings,
    identity,
    // false: a killed process, which neither releases the lease nor removes its endpoint.
    releaseOnStop: graceful,
    adapterPort: 0,
    adapterAddress: '127.0.0.1',
    adapterService: SERVICE,
    podIP: address,
    podName: `pod-${identity}`,
    podNamespace: ns.name,
    // Long: a clobbered endpoint must stay clobbered for the test to see it.
    adapterEndpointResyncMs: 600_000,
  });
  controllers.push(c);
  return c;
};

const stop = async (c: RunningController) => {
  await c.stop();
  controllers.splice(controllers.indexOf(c), 1);
};

beforeAll(async () => {
  await installCrd(kc);
  await core.createNamespacedService({
    namespace: ns.name,
    body: {
      metadata: { name: SERVICE },
      spec: { type: 'ClusterIP', ports: [{ name: 'https', port: 443, protocol: 'TCP' }] },
    },
  });
});

afterAll(async () => {
  await Promise.all(controllers.map((c) => c.stop()));
});

describe('the adapter endpoint writer', () => {
  it('a new leader overwrites; a leaving one removes only its own; no write when nothing changed', async () => {
    const platform = kubernetesPlatform({
      kubeconfig: kubeConnection().kubeconfigPath,
      identity: 'writer-test',
      log: silentLogger,
    });
    const service = 'writer-test';
    const endpoint = (holder: string, address: string): AdapterEndpoint => ({
      namespace: ns.name,
      service,
      holder,
      address,
      port: 6443,
      podName: holder,
    });
    try {
      const a = platform.adapterEndpoint(endpoint('a', '10.213.0.201'));
      const b = platform.adapterEndpoint(endpoint('b', '10.213.0.202'));
      expect(await a.publish()).toEqual({ ok: true, value: 'created' });
      expect(await named(service)).toMatchObject({ holder: 'a', addresses: ['10.213.0.201'], pod: 'a' });
      const writes = platform.client.writes();
      expect(await a.publish()).toEqual({ ok: true, value: 'unchanged' });
      expect(platform.client.writes()).toBe(writes);

      expect(await b.publish()).toEqual({ ok: true, value: 'updated' });
      expect(await a.withdraw()).toEqual({ ok: true, value: false });
      expect(await named(service)).toMatchObject({ holder: 'b', addresses: ['10.213.0.202'] });
      expect(await b.withdraw()).toEqual({ ok: true, value: true });
      expect(await readSlice(service)).toBeUndefined();
      expect(await b.withdraw()).toEqual({ ok: true, value: false });

      // IPv6 is written as an IPv6 slice.
      const v6 = platform.adapterEndpoint(endpoint('v6', 'fd00:10:213::11'));
      expect(await v6.publish()).toEqual({ ok: true, value: 'created' });
      expect((await readSlice(service))?.addressType).toBe('IPv6');
      expect(await v6.withdraw()).toEqual({ ok: true, value: true });

      // Kubernetes < 1.33 (forced here): v1 Endpoints too, labelled skip-mirror, removed with it.
      const legacy = platform.adapterEndpoint(endpoint('old', '10.213.0.203'), { legacyEndpoints: true });
      expect(await legacy.publish()).toEqual({ ok: true, value: 'created' });
      const eps = await core.readNamespacedEndpoints({ namespace: ns.name, name: service });
      expect(eps.metadata?.labels?.['endpointslice.kubernetes.io/skip-mirror']).toBe('true');
      expect(eps.subsets?.[0]?.addresses?.map((x) => x.ip)).toEqual(['10.213.0.203']);
      expect(eps.subsets?.[0]?.ports).toEqual([{ name: 'https', port: 6443, protocol: 'TCP' }]);
      expect(await legacy.publish()).toEqual({ ok: true, value: 'unchanged' });
      expect(await legacy.withdraw()).toEqual({ ok: true, value: true });
      await expect(core.readNamespacedEndpoints({ namespace: ns.name, name: service })).rejects.toSatisfy(
        notFound,
      );
    } finally {
      await platform.close();
    }
  });
});

describe('ebb run --adapter-service with leader election', () => {
  it('the real aggregator finds the leader by the port name; a dead leader is replaced within the lease', async () => {
    // The aggregator's availability check reads the Service's slices by the Service port's name.
    // Before any leader: no slice. With the leader's: it goes on to the discovery request (no
    // kube-proxy here, so that fails) — it found a ready endpoint with port `https`.
    const probe = 'v1alpha1.leader-probe.ebb.dev';
    const availability = (reason: string) =>
      vi.waitFor(
        async () => {
          const api = await registration.readAPIService({ name: probe });
          const available = api.status?.conditions?.find((c) => c.type === 'Available');
          expect(available, JSON.stringify(api.status)).toMatchObject({ status: 'False', reason });
        },
        { timeout: 60_000, interval: 250 },
      );
    await registration.createAPIService({
      body: {
        metadata: { name: probe },
        spec: {
          group: 'leader-probe.ebb.dev',
          version: 'v1alpha1',
          service: { namespace: ns.name, name: SERVICE, port: 443 },
          insecureSkipTLSVerify: true,
          groupPriorityMinimum: 100,
          versionPriority: 100,
        },
      },
    });
    let a: RunningController;
    let b: RunningController;
    try {
      await availability('EndpointsNotFound');
      a = await start('ebb-a', '10.213.0.211', false);
      await vi.waitFor(() => expect(a.isLeader()).toBe(true), { timeout: 10_000 });
      b = await start('ebb-b', '10.213.0.212', true);
      await vi.waitFor(async () => expect(await named()).toEqual(namesController(a, '10.213.0.211')), {
        timeout: 10_000,
      });
      expect(b.isLeader()).toBe(false);
      await availability('FailedDiscoveryCheck');
    } finally {
      // An unavailable aggregated API stalls discovery and namespace deletion: gone at once.
      await registration.deleteAPIService({ name: probe });
    }
    // v1.35 reads EndpointSlices: no legacy Endpoints were written.
    await expect(core.readNamespacedEndpoints({ namespace: ns.name, name: SERVICE })).rejects.toSatisfy(
      notFound,
    );

    await stop(a); // dies: no release, no cleanup
    const died = Date.now();
    expect(await named()).toEqual(namesController(a, '10.213.0.211'));
    await vi.waitFor(async () => expect(await named()).toEqual(namesController(b, '10.213.0.212')), {
      timeout: 10_000,
      interval: 100,
    });
    const movedAfter = Date.now() - died;
    expect(movedAfter).toBeLessThan(LEASE_MS + 4000); // the lease + a retry period, with slack
    expect(b.isLeader()).toBe(true);
  });

  it('a graceful stop hands over; a leader that lost the lease leaves its successor’s endpoint', async () => {
    const b = controllers.find((c) => c.isLeader());
    if (b === undefined) throw new Error('the previous test leaves ebb-b leading');
    // c looks at the lease every 3 s, d every 0.5 s: after c's renewal, d acts first.
    const c = await start('ebb-c', '10.213.0.213', true, {
      leaseDurationMs: 8000,
      renewDeadlineMs: 6000,
      retryPeriodMs: 3000,
    });

    // Graceful: b removes its endpoint, then releases the lease; c takes over at its next retry.
    await stop(b);
    await vi.waitFor(async () => expect(await named()).toEqual(namesController(c, '10.213.0.213')), {
      timeout: 8_000,
      interval: 100,
    });

    // c stalls (a paused process) past its lease and d takes over — written into the Lease here,
    // right after c's renewal. d points the Service at itself while c still believes it leads;
    // c steps down at its next retry and must leave d's endpoint alone, then and on its stop.
    const d = await start('ebb-d', '10.213.0.214', true, {
      leaseDurationMs: LEASE_MS,
      renewDeadlineMs: 3000,
      retryPeriodMs: 500,
    });
    const seen = (await coordination.readNamespacedLease({ namespace: ns.name, name: LEASE })).spec
      ?.renewTime;
    await vi.waitFor(
      async () => {
        const lease = await coordination.readNamespacedLease({ namespace: ns.name, name: LEASE });
        expect(lease.spec?.holderIdentity).toBe(c.identity);
        expect(lease.spec?.renewTime).not.toEqual(seen);
        const now = new V1MicroTime(Date.now());
        await coordination.replaceNamespacedLease({
          namespace: ns.name,
          name: LEASE,
          body: {
            ...lease,
            spec: {
              ...lease.spec,
              holderIdentity: d.identity,
              acquireTime: now,
              renewTime: now,
              leaseTransitions: (lease.spec?.leaseTransitions ?? 0) + 1,
            },
          },
        });
      },
      { timeout: 8_000, interval: 20 },
    );
    await vi.waitFor(async () => expect(await named()).toEqual(namesController(d, '10.213.0.214')), {
      timeout: 3_000,
      interval: 20,
    });
    expect(c.isLeader(), 'c has not noticed yet: its step-down comes after d wrote').toBe(true);
    expect(d.isLeader()).toBe(true);
    await vi.waitFor(() => expect(c.isLeader()).toBe(false), { timeout: 5_000, interval: 50 });
    await stop(c); // also waits for its step-down's withdraw
    expect(await named()).toEqual(namesController(d, '10.213.0.214'));

    // The last leader's graceful stop removes its own endpoint.
    await stop(d);
    expect(await readSlice()).toBeUndefined();
  });
});
