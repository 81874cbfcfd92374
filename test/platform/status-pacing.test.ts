// Status writes leave through a token bucket (client-go's QPS/Burst): a burst of them goes out
// `burst` at once, then `qps` a second, first come first served; other writes never wait behind
// them. Real requests to a node:http server on 127.0.0.1; virtual time releases the tokens.
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { KubeClient } from '../../src/platform/kubernetes/client.ts';
import { DEFAULT_MAX_REQUESTS, TokenBucket } from '../../src/platform/kubernetes/rate-limit.ts';
import { KubeScaledObjectWriter, scaledObjectsPath } from '../../src/platform/kubernetes/scaledobjects.ts';
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

/** An API server stand-in that answers 200 `{}` and records each request's path, in order. */
const recordingServer = async (
  hold = false,
): Promise<{ url: string; paths: string[]; answerAll: () => void }> => {
  const paths: string[] = [];
  const held: ServerResponse[] = [];
  const answer = (res: ServerResponse) =>
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  const server = createServer((req, res) => {
    paths.push(req.url ?? '');
    if (hold) held.push(res);
    else answer(res);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    paths,
    answerAll: () => {
      for (const res of held.splice(0)) answer(res);
    },
  };
};

/** Object `i`'s status path, as KubeScaledObjectWriter writes it. */
const statusPath = (i: number): string => `${scaledObjectsPath('ns')}/so-${i}/status`;

/** Status write `i` through ebb's writer (which takes the client's pacing token, then builds). */
const writeStatus = (client: KubeClient, i: number) =>
  new KubeScaledObjectWriter(client).patchStatus(
    { namespace: 'ns', name: `so-${i}`, uid: `uid-${i}` },
    () => ({
      currentReplicas: i,
    }),
  );

describe('status writes: paced by a token bucket', () => {
  it('sends `burst` at once, then one every 1/qps s in order; unpaced writes pass the queue', async () => {
    const { url, paths } = await recordingServer();
    const clock = new VirtualClock(0);
    const client = new KubeClient(configFor(url), clock, { statusQps: 10, statusBurst: 2 });
    const statuses = Array.from({ length: 6 }, (_, i) => writeStatus(client, i));
    await until(() => paths.length === 2, 'the burst');
    const scale = client.request('PATCH', '/scale', { body: {} });
    await until(() => paths.length === 3, 'the scale write');
    expect(paths).toEqual([statusPath(0), statusPath(1), '/scale']);
    expect(client.statusPacing.queued).toBe(4);
    // 10 a second: one token every 100 ms.
    await clock.advance(99);
    await settle();
    expect(paths).toHaveLength(3);
    await clock.advance(1);
    await until(() => paths.length === 4, 'the first paced write');
    await clock.advance(300);
    await until(() => paths.length === 7, 'the rest');
    expect(paths.slice(3)).toEqual([statusPath(2), statusPath(3), statusPath(4), statusPath(5)]);
    for (const r of [...(await Promise.all(statuses)), await scale]) expect(r.ok).toBe(true);
    expect(client.statusPacing.queued).toBe(0);
    await client.close();
  });
});

describe('status writes: bounded in flight', () => {
  it('sends no more than maxInFlight before the API server answers, however many tokens', async () => {
    const { url, paths, answerAll } = await recordingServer(true);
    const clock = new VirtualClock(0);
    const client = new KubeClient(configFor(url), clock, {
      statusQps: 1000,
      statusBurst: 100,
      statusInFlight: 3,
    });
    const statuses = Array.from({ length: 7 }, (_, i) => writeStatus(client, i));
    await until(() => paths.length === 3, 'the first three');
    await clock.advance(1000);
    await settle();
    expect(paths).toHaveLength(3);
    answerAll();
    await until(() => paths.length === 6, 'three more once answered');
    answerAll();
    await until(() => paths.length === 7, 'the last');
    answerAll();
    for (const r of await Promise.all(statuses)) expect(r.ok).toBe(true);
    await client.close();
  });
});

describe('requests: bounded in flight', () => {
  it(`sends at most ${DEFAULT_MAX_REQUESTS} requests at once (each would hold a connection), the rest in order`, async () => {
    const { url, paths, answerAll } = await recordingServer(true);
    const client = new KubeClient(configFor(url), new VirtualClock(0));
    const total = DEFAULT_MAX_REQUESTS + 40;
    const writes = Array.from({ length: total }, (_, i) =>
      client.request('PATCH', `/scale/${i}`, { body: {} }),
    );
    await until(() => paths.length === DEFAULT_MAX_REQUESTS, 'the first requests');
    await settle();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(paths).toHaveLength(DEFAULT_MAX_REQUESTS);
    answerAll();
    await until(() => paths.length === total, 'the rest once answered');
    expect(paths.at(-1)).toBe(`/scale/${total - 1}`);
    answerAll();
    for (const r of await Promise.all(writes)) expect(r.ok).toBe(true);
    await client.close();
  });

  it('lets an exempt request (a Lease renewal) pass a full limit', async () => {
    const { url, paths, answerAll } = await recordingServer(true);
    const client = new KubeClient(configFor(url), new VirtualClock(0));
    const writes = Array.from({ length: DEFAULT_MAX_REQUESTS + 10 }, (_, i) =>
      client.request('PATCH', `/scale/${i}`, { body: {} }),
    );
    await until(() => paths.length === DEFAULT_MAX_REQUESTS, 'the limit filled');
    const renewal = client.request('PUT', '/lease', { body: {}, exempt: true });
    await until(() => paths.includes('/lease'), 'the renewal sent past the queue');
    expect(paths).toHaveLength(DEFAULT_MAX_REQUESTS + 1);
    answerAll();
    expect((await renewal).ok).toBe(true);
    await until(() => paths.length === DEFAULT_MAX_REQUESTS + 11, 'the rest');
    answerAll();
    await Promise.all(writes);
    await client.close();
  });
});

describe('TokenBucket', () => {
  it('refills at qps up to burst and never beyond', async () => {
    const clock = new VirtualClock(0);
    const bucket = new TokenBucket(4, 3, clock);
    expect([bucket.take(), bucket.take(), bucket.take()]).toEqual([undefined, undefined, undefined]);
    const fourth = bucket.take();
    expect(fourth).toBeInstanceOf(Promise);
    await clock.advance(250);
    await fourth;
    // An hour idle refills 3 tokens, not 14,400.
    await clock.advance(3_600_000);
    expect([bucket.take(), bucket.take(), bucket.take()]).toEqual([undefined, undefined, undefined]);
    expect(bucket.take()).toBeInstanceOf(Promise);
  });

  it.each([
    [0, 1, 'qps = 0, must be > 0'],
    [Number.NaN, 1, 'qps = NaN, must be > 0'],
    [5, 0, 'burst = 0, must be an integer >= 1'],
    [5, 1.5, 'burst = 1.5, must be an integer >= 1'],
  ])('refuses qps %s burst %s', (qps, burst, message) => {
    expect(() => new TokenBucket(qps, burst, new VirtualClock(0))).toThrow(message);
  });

  it('refuses maxInFlight 0', () => {
    expect(() => new TokenBucket(5, 1, new VirtualClock(0), 0)).toThrow(
      'maxInFlight = 0, must be an integer >= 1',
    );
  });
});
