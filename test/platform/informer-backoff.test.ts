// ResilientInformer's restart backoff on the client's clock: against an API server that refuses
// connections, each failed list is retried after initialBackoffMs, doubling up to maxBackoffMs.
// Virtual time: the test moves the clock instead of waiting out the backoff; the refused
// connections themselves are real (127.0.0.1, a port nothing listens on).
import { createServer } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { KubeClient } from '../../src/platform/kubernetes/client.ts';
import { ResilientInformer } from '../../src/platform/kubernetes/informer.ts';
import { until } from '../activator/helpers.ts';
import { VirtualClock } from '../clock.ts';
import { restConfigFor } from '../env/rest-config.ts';

/** A port that was free a moment ago: connecting to it is refused. */
const closedPort = async (): Promise<number> => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
};

const informers: ResilientInformer[] = [];
afterEach(async () => {
  for (const i of informers.splice(0)) await i.stop();
});

describe('ResilientInformer: restart backoff on the clock', () => {
  it('retries a refused list after 500, 1000, 2000, 2000 ms (doubling to the cap), not before', async () => {
    const kc = restConfigFor({ server: `http://127.0.0.1:${await closedPort()}` });
    // The informer logs each failure with the backoff it armed: the test waits for those lines.
    const retries: number[] = [];
    const log = pino(
      { level: 'warn' },
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          const line = JSON.parse(chunk.toString()) as { msg?: string; retryInMs?: number };
          if (line.msg === 'watch failed' && line.retryInMs !== undefined) retries.push(line.retryInMs);
          done();
        },
      }),
    );
    const clock = new VirtualClock(0);
    const client = new KubeClient(kc, clock);
    const informer = new ResilientInformer(client, {
      path: '/api/v1/secrets',
      handlers: { add: () => {}, update: () => {}, delete: () => {} },
      log,
      initialBackoffMs: 500,
      maxBackoffMs: 2000,
    });
    informers.push(informer);
    const lists = () => client.requests.get('GET') ?? 0;
    void informer.start();
    await until(() => retries.length === 1, 'the first list refused, a restart armed');
    for (const [i, backoff] of [500, 1000, 2000, 2000].entries()) {
      await clock.advance(backoff - 1);
      expect(lists(), `before restart ${i + 1}`).toBe(i + 1);
      await clock.advance(1);
      await until(() => retries.length === i + 2, `restart ${i + 1} refused, the next armed`);
      expect(lists()).toBe(i + 2);
    }
    expect(retries).toEqual([500, 1000, 2000, 2000, 2000]);
  });
});
