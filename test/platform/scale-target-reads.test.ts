// Target reads before the Deployments' informer has listed: after SYNC_WAIT_MS a read falls
// back to GET /scale, at most MAX_SCALE_READS in flight; the others wait their turn and, once
// the list has landed, answer from the cache without a request. At 50,000 objects the unbounded
// fallback was 13,000 GET /scale in flight within 5 s (and the controller out of heap). An API
// server stand-in on 127.0.0.1 (node:http) holds the list and the /scale answers; virtual time
// moves past SYNC_WAIT_MS.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/logging.ts';
import { KubeClient } from '../../src/platform/kubernetes/client.ts';
import { KubeScaleTarget, MAX_SCALE_READS } from '../../src/platform/kubernetes/scale-target.ts';
import { until } from '../activator/helpers.ts';
import { settle, VirtualClock } from '../clock.ts';
import { configFor } from './local-kubeconfig.ts';

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

const OBJECTS = 100;
const json = (res: ServerResponse, body: unknown) =>
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));

/** Discovery for apps/v1; the Deployment list and every GET /scale held until released. */
const apiServer = async () => {
  const held = { list: [] as ServerResponse[], scale: [] as ServerResponse[] };
  let scaleGets = 0;
  let watching = false;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/apis/apps/v1')
      return json(res, {
        resources: [
          { name: 'deployments', kind: 'Deployment', namespaced: true },
          { name: 'deployments/scale', kind: 'Scale', namespaced: true },
        ],
      });
    if (url.pathname.endsWith('/scale')) {
      scaleGets++;
      return held.scale.push(res);
    }
    if (url.searchParams.get('watch') !== null) {
      watching = true;
      return res.writeHead(200).flushHeaders(); // held open
    }
    held.list.push(res);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const items = Array.from({ length: OBJECTS }, (_, i) => ({
    metadata: { name: `d${i}`, namespace: 'ns', resourceVersion: '5' },
    spec: { replicas: 3 },
  }));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    scaleGets: () => scaleGets,
    heldScale: () => held.scale.length,
    listAsked: () => held.list.length > 0,
    /** The informer watches once its list is in the cache. */
    watching: () => watching,
    answerList: () => {
      for (const res of held.list.splice(0)) json(res, { metadata: { resourceVersion: '5' }, items });
    },
    answerScale: () => {
      for (const res of held.scale.splice(0)) json(res, { spec: { replicas: 3 } });
    },
  };
};

describe('KubeScaleTarget reads before the first list', () => {
  it(`sends at most ${MAX_SCALE_READS} GET /scale at once; the rest answer from the list once it lands`, async () => {
    const api = await apiServer();
    const clock = new VirtualClock(0);
    const client = new KubeClient(configFor(api.url), clock);
    const target = new KubeScaleTarget(client, { namespace: 'ns', log: silentLogger });
    const reads = Array.from({ length: OBJECTS }, (_, i) =>
      target.replicas({ apiVersion: 'apps/v1', kind: 'Deployment', name: `d${i}`, namespace: 'ns' }),
    );
    await until(api.listAsked, 'the Deployment list');
    await clock.advance(5_000); // SYNC_WAIT_MS: the first reads stop waiting for the list
    await until(() => api.scaleGets() >= MAX_SCALE_READS, 'the first GET /scale');
    await settle();
    expect(api.scaleGets()).toBe(MAX_SCALE_READS);
    api.answerList();
    await until(api.watching, 'the watch after the list');
    await settle();
    api.answerScale();
    const results = await Promise.all(reads);
    expect(results.every((r) => r.ok && r.value === 3)).toBe(true);
    // The reads that waited for a slot found the list in the cache: no more requests.
    expect(api.scaleGets()).toBe(MAX_SCALE_READS);
    await target.close();
    await client.close();
  });
});
