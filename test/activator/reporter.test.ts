// The standalone activator's line to the controllers (src/activator/reporter.ts), against real
// node:http receivers on 127.0.0.1 that record what arrives and answer when told to: stats are
// pushed to every URL and never pile up, pokes go at once, a controller that is down or slow
// costs one log line and no backlog, and it is used again as soon as it answers.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ActivatorReporter, type PokeReport, REPORT_PATHS } from '../../src/activator/reporter.ts';
import type { ActivatorStats } from '../../src/activator/stats.ts';
import { createLogger } from '../../src/logging.ts';
import { until } from './helpers.ts';

interface Received {
  readonly path: string;
  readonly body: unknown;
}

/** How a receiver answers one request: a status now, or `hold` until `release()`. */
type Answer = number | 'hold';

interface Receiver {
  readonly url: string;
  readonly port: number;
  readonly received: Received[];
  /** Which status each path answers (default 204). */
  answer: Partial<Record<string, Answer>>;
  /** Answers every held request 204. */
  release(): void;
  paths(): string[];
  close(): Promise<void>;
}

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

const startReceiver = async (port = 0): Promise<Receiver> => {
  const received: Received[] = [];
  const held: ServerResponse[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '';
      received.push({ path, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown });
      const answer = receiver.answer[path] ?? 204;
      if (answer === 'hold') held.push(res);
      else
        res
          .writeHead(answer, { 'content-type': 'text/plain' })
          .end(answer === 204 ? undefined : 'routes.0.held: must be >= 0\n');
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const bound = (server.address() as AddressInfo).port;
  const receiver: Receiver = {
    url: `http://127.0.0.1:${bound}`,
    port: bound,
    received,
    answer: {},
    release: () => {
      for (const res of held.splice(0)) res.writeHead(204).end();
    },
    paths: () => received.map((r) => r.path),
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of held.splice(0)) res.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  closers.push(receiver.close);
  return receiver;
};

/** A port nothing listens on (yet). */
const freePort = async (): Promise<number> => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
};

const logLines = () => {
  const lines: { level: number; msg: string; controller?: string; err?: string }[] = [];
  const log = createLogger({
    level: 'info',
    destination: { write: (line: string) => void lines.push(JSON.parse(line) as (typeof lines)[number]) },
  });
  return { log, lines, warnings: () => lines.filter((l) => l.level === 40) };
};

const reporterFor = (urls: string[], opts: { timeoutMs?: number; maxPokesInFlight?: number } = {}) => {
  const logged = logLines();
  const reporter = new ActivatorReporter({ urls, log: logged.log, ...opts });
  closers.push(async () => reporter.close());
  return { reporter, ...logged };
};

const stats = (at: number, held = 0): ActivatorStats => ({
  activator: 'act-a',
  at,
  routes: [{ route: 'shop/web', inFlight: 1, held, requests: 5 + held, concurrencyMs: 10 * at }],
});

const poke = (held: number): PokeReport => ({
  activator: 'act-a',
  route: 'shop/web',
  held,
  at: 1000 + held,
  stats: stats(1000 + held, held),
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('ActivatorReporter', () => {
  it('pushes stats and pokes to every controller URL, as JSON on the agreed paths', async () => {
    const one = await startReceiver();
    const two = await startReceiver();
    const { reporter } = reporterFor([one.url, `${two.url}/`]);
    reporter.stats(stats(1000));
    reporter.poke(poke(1));
    for (const r of [one, two]) {
      await until(() => r.received.length === 2, 'both reports');
      expect(r.received).toEqual(
        expect.arrayContaining([
          { path: REPORT_PATHS.stats, body: stats(1000) },
          { path: REPORT_PATHS.poke, body: poke(1) },
        ]),
      );
    }
  });

  it('skips a stats push while the last one to that URL is under way, but never holds a poke back', async () => {
    const slow = await startReceiver();
    const fast = await startReceiver();
    slow.answer[REPORT_PATHS.stats] = 'hold';
    const { reporter } = reporterFor([slow.url, fast.url]);
    reporter.stats(stats(1000));
    await until(() => slow.received.length === 1 && fast.received.length === 1, 'the first push');
    reporter.stats(stats(2000));
    reporter.stats(stats(3000));
    reporter.poke(poke(1));
    await until(() => slow.paths().includes(REPORT_PATHS.poke), 'the poke, past the stuck push');
    await until(() => fast.paths().includes(REPORT_PATHS.poke), 'the poke to the other URL');
    // The slow URL got the first snapshot and the poke; the two in between were skipped for it.
    expect(slow.paths()).toEqual([REPORT_PATHS.stats, REPORT_PATHS.poke]);
    slow.release();
    await sleep(50);
    reporter.stats(stats(4000));
    await until(() => slow.received.length === 3, 'the next push once the slow URL answered');
    expect(slow.received[2]?.body).toEqual(stats(4000)); // the newest counters, not a backlog
  });

  it('keeps pushing to a controller that is down (one warning), and uses it again once it answers', async () => {
    const up = await startReceiver();
    const port = await freePort();
    const { reporter, lines, warnings } = reporterFor([`http://127.0.0.1:${port}`, up.url]);
    for (let i = 1; i <= 3; i++) {
      reporter.stats(stats(i * 1000));
      reporter.poke(poke(i));
      await until(() => up.received.length === 2 * i, `push ${i} to the healthy URL`);
      await sleep(20);
    }
    await until(() => warnings().length > 0, 'the warning');
    expect(warnings()).toEqual([
      expect.objectContaining({
        controller: `http://127.0.0.1:${port}/`,
        err: expect.stringContaining('ECONNREFUSED'),
        msg: expect.stringContaining('cannot report to the controller'),
      }),
    ]);

    const back = await startReceiver(port);
    reporter.stats(stats(9000));
    await until(() => back.received.length === 1, 'the push to the controller that came back');
    expect(back.received[0]).toEqual({ path: REPORT_PATHS.stats, body: stats(9000) });
    await until(() => lines.some((l) => l.msg === 'reporting to the controller again'), 'the recovery line');
    expect(warnings()).toHaveLength(1);
  });

  it('logs what a controller refused with, naming the field, once until it recovers', async () => {
    const strict = await startReceiver();
    strict.answer[REPORT_PATHS.stats] = 400;
    const { reporter, warnings } = reporterFor([strict.url]);
    reporter.stats(stats(1000));
    await until(() => warnings().length === 1, 'the warning');
    reporter.stats(stats(2000));
    await until(() => strict.received.length === 2, 'the second push');
    await sleep(20);
    expect(warnings()).toEqual([
      expect.objectContaining({ err: `${REPORT_PATHS.stats} answered 400: routes.0.held: must be >= 0` }),
    ]);
  });

  it('gives up on an answer after timeoutMs, so a hung controller does not stop the pushes', async () => {
    const hung = await startReceiver();
    hung.answer[REPORT_PATHS.stats] = 'hold';
    const { reporter, warnings } = reporterFor([hung.url], { timeoutMs: 150 });
    reporter.stats(stats(1000));
    await until(() => warnings().length === 1, 'the timeout');
    expect(warnings()[0]?.err).toContain('no answer within 150 ms');
    hung.answer[REPORT_PATHS.stats] = 204;
    reporter.stats(stats(2000));
    await until(() => hung.received.length === 2, 'the next push');
  });

  it('bounds the pokes in flight per URL', async () => {
    const r = await startReceiver();
    r.answer[REPORT_PATHS.poke] = 'hold';
    const { reporter } = reporterFor([r.url], { maxPokesInFlight: 2 });
    for (let held = 1; held <= 5; held++) reporter.poke(poke(held));
    await until(() => r.received.length === 2, 'two pokes');
    await sleep(50);
    expect(r.received.map((x) => (x.body as PokeReport).held)).toEqual([1, 2]);
    r.release();
    await sleep(50);
    reporter.poke(poke(8));
    await until(() => r.received.length === 3, 'the poke after the others answered');
  });

  it('says goodbye to every URL and resolves when each answered or failed', async () => {
    const one = await startReceiver();
    const port = await freePort();
    const { reporter } = reporterFor([one.url, `http://127.0.0.1:${port}`]);
    await reporter.goodbye('act-a');
    expect(one.received).toEqual([{ path: REPORT_PATHS.goodbye, body: { activator: 'act-a' } }]);
  });

  it.each(['ftp://controller:9091', 'unix:/run/ebb.sock'])('refuses %s', (url) => {
    expect(() => new ActivatorReporter({ urls: [url], log: logLines().log })).toThrow(
      `--controller-url ${url}: must be an http:// or https:// URL`,
    );
  });
});
