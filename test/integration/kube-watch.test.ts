// What ebb's requests look like to the API server, seen through a recording node:http proxy in
// front of the real kube-apiserver (its audit log is off in test/env): every request and watch
// names ebb in its User-Agent, watches ask for bookmarks and stay open while the resource is
// quiet (client-node's own Watch gave up after 30 s of silence), and a watch the server closes
// resumes from the last resourceVersion it saw, a bookmark's included, without a re-list.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { CoreV1Api, type KubernetesObject } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../src/logging.ts';
import { KubeClient, userAgent } from '../../src/platform/kubernetes/client.ts';
import { ResilientInformer } from '../../src/platform/kubernetes/informer.ts';
import type { RestConfig } from '../../src/platform/kubernetes/kubeconfig.ts';
import { restConfigFor } from '../env/rest-config.ts';
import { kubeConfig, kubeConnection, useNamespace } from '../env/testing.ts';

interface Seen {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
}

const ns = useNamespace('kube-watch');
const other = useNamespace('kube-watch-other');
const core = kubeConfig().makeApiClient(CoreV1Api);
const UA = userAgent('9.8.7', 'run');
const seen: Seen[] = [];
let proxy: Server;
let proxyConfig: RestConfig;

beforeAll(async () => {
  const conn = kubeConnection();
  const upstream = new URL(conn.server);
  proxy = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    seen.push({
      method: req.method ?? '',
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
    });
    const out = httpsRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: upstream.host },
        ca: conn.caData,
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    out.on('error', () => res.destroy());
    res.on('close', () => out.destroy());
    req.pipe(out);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const { port } = proxy.address() as AddressInfo;
  proxyConfig = restConfigFor({ server: `http://127.0.0.1:${port}`, token: conn.token });
});

afterAll(async () => {
  proxy.closeAllConnections();
  await new Promise((resolve) => proxy.close(resolve));
});

const configMapsOf = (namespace: string) => `/api/v1/namespaces/${namespace}/configmaps`;
const lists = (path: string) => seen.filter((s) => s.path === path && s.query.get('watch') !== 'true');
const watches = (path: string) => seen.filter((s) => s.path === path && s.query.get('watch') === 'true');

/** An informer on one namespace's ConfigMaps through the proxy; `names` collects adds. */
const informerOn = (namespace: string, watchTimeoutSeconds?: number) => {
  const client = new KubeClient(proxyConfig, undefined, { userAgent: UA });
  const names = new Set<string>();
  const informer = new ResilientInformer(client, {
    path: configMapsOf(namespace),
    log: silentLogger,
    handlers: {
      add: (o: KubernetesObject) => names.add(o.metadata?.name ?? ''),
      update: () => {},
      delete: () => {},
    },
    ...(watchTimeoutSeconds === undefined ? {} : { watchTimeoutSeconds }),
  });
  return { client, informer, names };
};

const createConfigMap = async (namespace: string, name: string): Promise<number> => {
  const cm = await core.createNamespacedConfigMap({
    namespace,
    body: { metadata: { name }, data: { a: 'b' } },
  });
  return Number(cm.metadata?.resourceVersion);
};

describe('requests to the API server', () => {
  it('name ebb, its version, platform and command in the User-Agent, watches included', async () => {
    const { client, informer } = informerOn(ns.name);
    await informer.start();
    const version = await client.request('GET', '/version');
    expect(version.ok).toBe(true);
    await vi.waitFor(() => expect(watches(configMapsOf(ns.name)).length).toBeGreaterThan(0), {
      timeout: 15_000,
    });
    await informer.stop();
    await client.close();
    expect(UA).toMatch(/^ebb\/9\.8\.7 \([a-z0-9]+\/[a-z0-9]+\) run$/);
    const agents = new Set(seen.map((s) => s.headers['user-agent']));
    expect([...agents]).toEqual([UA]);
  });

  it('keep a quiet watch open past a minute, with bookmarks, and deliver what comes after', async () => {
    const { client, informer, names } = informerOn(other.name);
    await informer.start();
    const path = configMapsOf(other.name);
    await vi.waitFor(() => expect(watches(path)).toHaveLength(1), { timeout: 15_000 });
    // client-node's Watch aborted after 30 s without data and re-opened: a second watch here.
    await new Promise((resolve) => setTimeout(resolve, 65_000));
    expect(watches(path)).toHaveLength(1);
    expect(lists(path)).toHaveLength(1);
    expect(watches(path)[0]?.query.get('allowWatchBookmarks')).toBe('true');
    const timeout = Number(watches(path)[0]?.query.get('timeoutSeconds'));
    expect(timeout).toBeGreaterThanOrEqual(300);
    expect(timeout).toBeLessThan(600);
    await createConfigMap(other.name, 'after-a-minute');
    await vi.waitFor(() => expect(names.has('after-a-minute')).toBe(true), { timeout: 15_000 });
    expect(watches(path)).toHaveLength(1);
    await informer.stop();
    await client.close();
  }, 120_000);

  it('resume a watch the server closed from the last bookmark, without a re-list', async () => {
    const { client, informer, names } = informerOn(ns.name, 4);
    const path = configMapsOf(ns.name);
    const before = seen.filter((s) => s.path === path).length;
    await informer.start();
    await vi.waitFor(() => expect(watches(path).length).toBeGreaterThan(0), { timeout: 15_000 });
    // A write this watch does not see (another namespace) moves the cache's resourceVersion;
    // the bookmark sent before the timeout carries it, and the next watch starts from there.
    const elsewhere = await createConfigMap(other.name, 'elsewhere');
    await vi.waitFor(
      () => {
        const mine = seen.filter((s) => s.path === path).slice(before);
        const resumed = mine.filter((s) => s.query.get('watch') === 'true').slice(1);
        expect(resumed.some((s) => Number(s.query.get('resourceVersion')) >= elsewhere)).toBe(true);
      },
      { timeout: 30_000, interval: 200 },
    );
    const mine = seen.filter((s) => s.path === path).slice(before);
    expect(mine.filter((s) => s.query.get('watch') !== 'true')).toHaveLength(1);
    expect(client.requests.get('GET')).toBe(1);
    await createConfigMap(ns.name, 'after-resume');
    await vi.waitFor(() => expect(names.has('after-resume')).toBe(true), { timeout: 15_000 });
    await informer.stop();
    await client.close();
  }, 60_000);
});
