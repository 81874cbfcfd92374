// Status writes leave through a token bucket (client-go's QPS/Burst): a burst of them goes out
// `burst` at once, then `qps` a second, first come first served; other writes never wait behind
// them. Real requests to a node:http server on 127.0.0.1; virtual time releases the tokens.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { KubeClient } from '../../src/platform/kubernetes/client.ts';
import { TokenBucket } from '../../src/platform/kubernetes/rate-limit.ts';
import { until } from '../activator/helpers.ts';
import { settle, VirtualClock } from '../clock.ts';

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

/** An API server stand-in that answers 200 `{}` and records each request's path, in order. */
const recordingServer = async (): Promise<{ url: string; paths: string[] }> => {
  const paths: string[] = [];
  const server = createServer((req, res) => {
    paths.push(req.url ?? '');
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, paths };
};

const configFor = (server: string): KubeConfig => {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server, skipTLSVerify: true }],
    users: [{ name: 'u' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
};

describe('status writes: paced by a token bucket', () => {
  it('sends `burst` at once, then one every 1/qps s in order; unpaced writes pass the queue', async () => {
    const { url, paths } = await recordingServer();
    const clock = new VirtualClock(0);
    const client = new KubeClient(configFor(url), clock, { statusQps: 10, statusBurst: 2 });
    const statuses = Array.from({ length: 6 }, (_, i) =>
      client.request('PATCH', `/status/${i}`, { body: {}, paced: true }),
    );
    await until(() => paths.length === 2, 'the burst');
    const scale = client.request('PATCH', '/scale', { body: {} });
    await until(() => paths.length === 3, 'the scale write');
    expect(paths).toEqual(['/status/0', '/status/1', '/scale']);
    expect(client.statusPacing.queued).toBe(4);
    // 10 a second: one token every 100 ms.
    await clock.advance(99);
    await settle();
    expect(paths).toHaveLength(3);
    await clock.advance(1);
    await until(() => paths.length === 4, 'the first paced write');
    await clock.advance(300);
    await until(() => paths.length === 7, 'the rest');
    expect(paths.slice(3)).toEqual(['/status/2', '/status/3', '/status/4', '/status/5']);
    for (const r of [...(await Promise.all(statuses)), await scale]) expect(r.ok).toBe(true);
    expect(client.statusPacing.queued).toBe(0);
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
});
