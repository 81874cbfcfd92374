// The reporter's fan-out (src/activator/reporter.ts): a controller URL whose host is a name (in a
// cluster, a headless Service naming every controller pod) reaches every address the name
// resolves to. Real node:http(s) receivers on 127.0.0.1 and 127.0.0.2 share one port and are
// reached through one name via a fake resolver; per-address state (a busy stats push, failure
// logging) is kept per address, and the name is resolved again periodically and after a
// connection error.
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { generate } from 'selfsigned';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ActivatorReporter,
  type ActivatorReporterOptions,
  type PokeReport,
  REPORT_PATHS,
} from '../../src/activator/reporter.ts';
import type { ActivatorStats } from '../../src/activator/stats.ts';
import { createLogger } from '../../src/logging.ts';
import { VirtualClock } from '../clock.ts';
import { until } from './helpers.ts';

const NAME = 'controllers.test';

interface Received {
  readonly path: string;
  readonly host: string | undefined;
  readonly body: unknown;
}

interface Receiver {
  readonly address: string;
  readonly port: number;
  readonly received: Received[];
  /** `hold`: keep stats requests unanswered until release(). */
  holdStats: boolean;
  release(): void;
  paths(): string[];
  close(): Promise<void>;
}

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

interface Tls {
  readonly cert: string;
  readonly key: string;
}

const startReceiver = async (address: string, port: number, tls?: Tls): Promise<Receiver> => {
  const received: Received[] = [];
  const held: ServerResponse[] = [];
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '';
      received.push({
        path,
        host: req.headers.host,
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown,
      });
      if (receiver.holdStats && path === REPORT_PATHS.stats) held.push(res);
      else res.writeHead(204).end();
    });
  };
  const server: Server = tls === undefined ? createHttpServer(handler) : createHttpsServer(tls, handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => resolve());
  });
  const receiver: Receiver = {
    address,
    port: (server.address() as AddressInfo).port,
    received,
    holdStats: false,
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

/** Two receivers on one port, on 127.0.0.1 and 127.0.0.2 (what one headless name resolves to). */
const startPair = async (tls?: Tls): Promise<[Receiver, Receiver]> => {
  for (let attempt = 0; ; attempt++) {
    const one = await startReceiver('127.0.0.1', 0, tls);
    try {
      return [one, await startReceiver('127.0.0.2', one.port, tls)];
    } catch (err) {
      // That port is taken on 127.0.0.2: try another one.
      await one.close();
      if (attempt >= 10) throw err;
    }
  }
};

/** A resolver answering what `answers` holds now (an Error rejects), counting the calls. */
const fakeResolver = (initial: readonly string[] | Error) => {
  const state = { answer: initial, calls: [] as string[] };
  const resolve = async (host: string): Promise<readonly string[]> => {
    state.calls.push(host);
    if (host !== NAME) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    if (state.answer instanceof Error) throw state.answer;
    return state.answer;
  };
  return { state, resolve };
};

const logLines = () => {
  const lines: { level: number; msg: string; controller?: string; address?: string; err?: string }[] = [];
  const log = createLogger({
    level: 'info',
    destination: { write: (line: string) => void lines.push(JSON.parse(line) as (typeof lines)[number]) },
  });
  return { log, lines, warnings: () => lines.filter((l) => l.level === 40) };
};

const reporterFor = (urls: string[], opts: Omit<ActivatorReporterOptions, 'urls' | 'log'>) => {
  const logged = logLines();
  const reporter = new ActivatorReporter({ urls, log: logged.log, ...opts });
  closers.push(async () => reporter.close());
  return { reporter, ...logged };
};

const stats = (at: number): ActivatorStats => ({
  activator: 'act-a',
  at,
  routes: [{ route: 'shop/web', inFlight: 1, held: 0, requests: 5, concurrencyMs: 10 * at }],
});

const poke = (held: number): PokeReport => ({ activator: 'act-a', route: 'shop/web', held, at: 1000 + held });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('ActivatorReporter fan-out', () => {
  it('a name that resolves to two controllers: stats, pokes and goodbye reach both, with the URL as Host', async () => {
    const [one, two] = await startPair();
    const dns = fakeResolver(['127.0.0.1', '127.0.0.2']);
    const { reporter } = reporterFor([`http://${NAME}:${one.port}`], { resolve: dns.resolve });
    // Sent before the first resolution ended: kept, then sent to every address.
    reporter.stats(stats(1000));
    reporter.poke(poke(1));
    for (const r of [one, two]) {
      await until(() => r.received.length === 2, `both reports on ${r.address}`);
      expect(r.received).toEqual(
        expect.arrayContaining([
          { path: REPORT_PATHS.stats, host: `${NAME}:${one.port}`, body: stats(1000) },
          { path: REPORT_PATHS.poke, host: `${NAME}:${one.port}`, body: poke(1) },
        ]),
      );
    }
    await reporter.goodbye('act-a');
    expect(one.paths().at(-1)).toBe(REPORT_PATHS.goodbye);
    expect(two.paths().at(-1)).toBe(REPORT_PATHS.goodbye);
    expect(reporter.addresses()).toEqual({ [`http://${NAME}:${one.port}/`]: ['127.0.0.1', '127.0.0.2'] });
    expect(dns.state.calls).toEqual([NAME]);
  });

  it('resolves again periodically: a controller that appears gets the next push, one that left gets none', async () => {
    const [one, two] = await startPair();
    const dns = fakeResolver(['127.0.0.1']);
    const url = `http://${NAME}:${one.port}/`;
    // The re-resolve interval runs on a virtual clock; the pushes are real sockets.
    const clock = new VirtualClock();
    const { reporter } = reporterFor([url], { resolve: dns.resolve, resolveEveryMs: 30, clock });
    reporter.stats(stats(1000));
    await until(() => one.received.length === 1, 'the first push');

    dns.state.answer = ['127.0.0.1', '127.0.0.2'];
    await clock.advance(29);
    expect(reporter.addresses()[url]).toEqual(['127.0.0.1']);
    await clock.advance(1);
    expect(reporter.addresses()[url]).toEqual(['127.0.0.1', '127.0.0.2']);
    reporter.stats(stats(2000));
    await until(() => two.received.length === 1 && one.received.length === 2, 'the push to both');

    dns.state.answer = ['127.0.0.2'];
    await clock.advance(30);
    expect(reporter.addresses()[url]?.join()).toBe('127.0.0.2');
    reporter.stats(stats(3000));
    await until(() => two.received.length === 2, 'the push to the one left');
    await sleep(30);
    expect(one.received).toHaveLength(2);
  });

  it('a connection error resolves the name again at once, and the next push reaches the new address', async () => {
    const [one, two] = await startPair();
    // 127.0.0.3 on that port: nobody listens (a controller pod that went away).
    const dns = fakeResolver(['127.0.0.1', '127.0.0.3']);
    const url = `http://${NAME}:${one.port}/`;
    const { reporter, warnings } = reporterFor([url], {
      resolve: dns.resolve,
      resolveEveryMs: 3_600_000,
      minResolveGapMs: 0,
    });
    await until(() => reporter.addresses()[url]?.length === 2, 'the first resolution');
    dns.state.answer = ['127.0.0.1', '127.0.0.2'];
    reporter.stats(stats(1000));
    await until(() => reporter.addresses()[url]?.join() === '127.0.0.1,127.0.0.2', 'the new address');
    await until(() => one.received.length === 1, 'the push to the live controller');
    await sleep(20);
    expect(dns.state.calls).toHaveLength(2);
    expect(warnings()).toEqual([
      expect.objectContaining({
        controller: url,
        address: '127.0.0.3',
        err: expect.stringContaining('ECONNREFUSED'),
        msg: expect.stringContaining('cannot report to the controller'),
      }),
    ]);
    reporter.stats(stats(2000));
    await until(() => two.received.length === 1, 'the push to the new address');
    expect(one.received.map((r) => (r.body as ActivatorStats).at)).toEqual([1000, 2000]);
  });

  it('keeps state per address: a busy stats push to one controller does not hold back the other', async () => {
    const [one, two] = await startPair();
    one.holdStats = true;
    const dns = fakeResolver(['127.0.0.1', '127.0.0.2']);
    const { reporter } = reporterFor([`http://${NAME}:${one.port}`], { resolve: dns.resolve });
    reporter.stats(stats(1000));
    await until(() => one.received.length === 1 && two.received.length === 1, 'the first push');
    for (const at of [2000, 3000]) {
      await sleep(20);
      reporter.stats(stats(at));
      await until(() => two.received.length === at / 1000, `push ${at} to the idle controller`);
    }
    expect(one.received).toHaveLength(1);
    one.release();
    await sleep(30);
    reporter.stats(stats(4000));
    await until(() => one.received.length === 2, 'the next push once it answered');
    expect(one.received[1]?.body).toEqual(stats(4000));
  });

  it('a name that does not resolve: one warning, reports go once it does', async () => {
    const [one, two] = await startPair();
    const dns = fakeResolver(
      Object.assign(new Error(`getaddrinfo ENOTFOUND ${NAME}`), { code: 'ENOTFOUND' }),
    );
    const url = `http://${NAME}:${one.port}/`;
    const { reporter, lines, warnings } = reporterFor([url], { resolve: dns.resolve, minResolveGapMs: 0 });
    reporter.stats(stats(1000));
    await until(() => warnings().length === 1, 'the warning');
    expect(warnings()[0]).toMatchObject({ controller: url, err: `getaddrinfo ENOTFOUND ${NAME}` });
    reporter.stats(stats(2000));
    await until(() => dns.state.calls.length >= 2, 'another attempt');
    expect(warnings()).toHaveLength(1);

    dns.state.answer = ['127.0.0.1', '127.0.0.2'];
    reporter.stats(stats(3000));
    await until(() => one.received.length >= 1 && two.received.length >= 1, 'the push once it resolves');
    expect(one.received.at(-1)?.body).toEqual(stats(3000));
    expect(lines.some((l) => l.msg === 'the controller URL resolves again')).toBe(true);
  });

  it('a failed resolution keeps the addresses it had', async () => {
    const [one, two] = await startPair();
    const dns = fakeResolver(['127.0.0.1', '127.0.0.2']);
    const url = `http://${NAME}:${one.port}/`;
    const clock = new VirtualClock();
    const { reporter, warnings } = reporterFor([url], { resolve: dns.resolve, resolveEveryMs: 20, clock });
    await until(() => reporter.addresses()[url]?.length === 2, 'the first resolution');
    dns.state.answer = new Error('DNS server failed (ESERVFAIL)');
    await clock.advance(20);
    expect(warnings()).toHaveLength(1);
    expect(reporter.addresses()[url]).toEqual(['127.0.0.1', '127.0.0.2']);
    reporter.stats(stats(1000));
    await until(() => one.received.length === 1 && two.received.length === 1, 'the push to both');
  });

  it('an IP literal or localhost is posted to as it is, never resolved', async () => {
    const [one] = await startPair();
    const dns = fakeResolver([]);
    const { reporter } = reporterFor([`http://127.0.0.1:${one.port}`, `http://localhost:${one.port}`], {
      resolve: dns.resolve,
    });
    reporter.stats(stats(1000));
    await until(() => one.received.length === 2, 'both pushes');
    expect(one.received.map((r) => r.host).sort()).toEqual([
      `127.0.0.1:${one.port}`,
      `localhost:${one.port}`,
    ]);
    expect(dns.state.calls).toEqual([]);
  });

  it("https: each address is checked against the URL's name, not its IP", async () => {
    const pems = await generate([{ name: 'commonName', value: NAME }], {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      extensions: [
        { name: 'basicConstraints', cA: true },
        { name: 'subjectAltName', altNames: [{ type: 2 as const, value: NAME }] },
      ],
    });
    const [one, two] = await startPair({ cert: pems.cert, key: pems.private });
    const dns = fakeResolver(['127.0.0.1', '127.0.0.2']);
    const { reporter, warnings } = reporterFor([`https://${NAME}:${one.port}`], {
      resolve: dns.resolve,
      ca: pems.cert,
    });
    reporter.stats(stats(1000));
    await until(() => one.received.length === 1 && two.received.length === 1, 'the push to both');
    expect(warnings()).toEqual([]);
  });
});
