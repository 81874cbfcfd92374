// How the activator speaks to an endpoint, read from a real API server: the Kubernetes endpoint
// source (src/platform/kubernetes/endpoints.ts) carries the port's appProtocol (the slice
// port's, else the Service port's) as Endpoint.protocol: `https`/`kubernetes.io/wss` → TLS,
// `kubernetes.io/h2c`/`h2c`/`grpc` → h2c, anything else → HTTP/1.1; a changed appProtocol is a
// changed ready set (the activator then builds a new pool for the endpoint).
import { CoreV1Api, DiscoveryV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Endpoint } from '../../src/activator/ports.ts';
import { silentLogger } from '../../src/logging.ts';
import { KubeClient } from '../../src/platform/kubernetes/client.ts';
import { KubeEndpointSource, SERVICE_NAME_LABEL } from '../../src/platform/kubernetes/endpoints.ts';
import { kubeConfig, restConfig, useNamespace } from '../env/testing.ts';

const kc = kubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const discovery = kc.makeApiClient(DiscoveryV1Api);
const ns = useNamespace('endpoint-protocols');
const WAIT = { timeout: 20_000, interval: 50 };

let source: KubeEndpointSource;
beforeAll(async () => {
  source = new KubeEndpointSource(new KubeClient(restConfig()), { namespace: ns.name, log: silentLogger });
  await source.start();
});
afterAll(async () => {
  await source?.stop();
});

/** A Service `name` with port 443 `web` → 8443 and the given appProtocol (none when undefined). */
const service = (name: string, appProtocol: string | undefined) =>
  core.createNamespacedService({
    namespace: ns.name,
    body: {
      metadata: { name },
      spec: {
        ports: [
          {
            name: 'web',
            port: 443,
            targetPort: 8443,
            protocol: 'TCP',
            ...(appProtocol ? { appProtocol } : {}),
          },
        ],
      },
    },
  });

/** Its EndpointSlice with one ready address; the slice port's appProtocol when given. */
const slice = (name: string, address: string, appProtocol?: string) => ({
  metadata: { name, labels: { [SERVICE_NAME_LABEL]: name } },
  addressType: 'IPv4',
  ports: [{ name: 'web', port: 8443, protocol: 'TCP', ...(appProtocol ? { appProtocol } : {}) }],
  endpoints: [{ addresses: [address], conditions: { ready: true } }],
});

const readyOf = (name: string): readonly Endpoint[] => source.ready({ namespace: ns.name, name, port: 443 });

describe('Endpoint.protocol from appProtocol on a real API server', () => {
  it.each([
    ['https', 'https'],
    ['kubernetes.io/wss', 'https'],
    ['kubernetes.io/h2c', 'h2c'],
    ['grpc', 'h2c'],
    ['kubernetes.io/ws', undefined],
    [undefined, undefined],
  ])("the Service port's appProtocol %s → %s", async (appProtocol, protocol) => {
    const name = `svc-${String(appProtocol ?? 'none').replace(/[^a-z0-9]/g, '-')}`;
    await service(name, appProtocol);
    await discovery.createNamespacedEndpointSlice({ namespace: ns.name, body: slice(name, '10.213.0.10') });
    await vi.waitFor(() => expect(readyOf(name)).toHaveLength(1), WAIT);
    expect(readyOf(name)).toEqual([
      { address: '10.213.0.10', port: 8443, ...(protocol === undefined ? {} : { protocol }) },
    ]);
  });

  it("the slice port's appProtocol wins, and changing it tells the subscribers", async () => {
    await service('switch', 'http');
    await discovery.createNamespacedEndpointSlice({
      namespace: ns.name,
      body: slice('switch', '10.213.0.11', 'https'),
    });
    const seen: (readonly Endpoint[])[] = [];
    const unsubscribe = source.subscribe({ namespace: ns.name, name: 'switch', port: 443 }, (ready) =>
      seen.push(ready),
    );
    try {
      await vi.waitFor(() => expect(readyOf('switch')[0]?.protocol).toBe('https'), WAIT);
      await discovery.replaceNamespacedEndpointSlice({
        namespace: ns.name,
        name: 'switch',
        body: slice('switch', '10.213.0.11', 'kubernetes.io/h2c'),
      });
      await vi.waitFor(
        () => expect(seen.at(-1)).toEqual([{ address: '10.213.0.11', port: 8443, protocol: 'h2c' }]),
        WAIT,
      );
    } finally {
      unsubscribe();
    }
  });
});
