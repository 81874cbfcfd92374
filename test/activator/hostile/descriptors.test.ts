// The open-file limit (src/activator/descriptors.ts). With RLIMIT_NOFILE lowered, the activator
// used to drop connections silently at accept() and answer held requests `502 connect EMFILE` on
// release. Now client connections over its budget get 503 ConnectionLimit + Retry-After, and every
// held request is answered; an upstream connect that fails with EMFILE waits and is retried.
// The activator under test is a real child process (fd-child.ts) started under `ulimit -n`.
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { descriptorBudget, parseOpenFileLimit } from '../../../src/activator/descriptors.ts';
import { type Backend, closeAfterEach, routeSpec, startActivator, startBackend, until } from '../helpers.ts';
import { expectOwnAnswer, openRaw, type RawConn, rawGet } from './conn-harness.ts';

const track = closeAfterEach();
const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = join(HERE, '..', '..', '..');

describe('the budget', () => {
  const limits = [
    'Limit                     Soft Limit           Hard Limit           Units     ',
    'Max cpu time              unlimited            unlimited            seconds   ',
    'Max open files            1024                 524288               files     ',
    'Max locked memory         8388608              8388608              bytes     ',
  ].join('\n');

  it.each([
    ['a soft limit', limits, 1024],
    ['unlimited', limits.replace('1024                 524288', 'unlimited            unlimited'), Infinity],
    ['no such line', 'Max cpu time unlimited unlimited seconds', undefined],
    ['garbage', 'Max open files            lots', undefined],
  ])('reads %s from /proc/self/limits', (_, text, want) => {
    expect(parseOpenFileLimit(text)).toBe(want);
  });

  it.each([
    // limit, open → reserve = min(1024, max(64, ceil(limit/16))), budget = limit − open − reserve,
    // clients = floor(budget × 3/4), upstream = the rest.
    [1024, 30, { maxClientConnections: 697, maxUpstreamRequests: 233 }],
    [256, 35, { maxClientConnections: 117, maxUpstreamRequests: 40 }],
    [1_048_576, 40, { maxClientConnections: 785_634, maxUpstreamRequests: 261_878 }],
    // Almost nothing left: still one of each (a refusal or a retry, never a crash).
    [100, 90, { maxClientConnections: 1, maxUpstreamRequests: 1 }],
    [Infinity, 40, { maxClientConnections: Infinity, maxUpstreamRequests: Infinity }],
  ])('limit %d with %d open', (limit, open, want) => {
    expect(descriptorBudget(limit, open)).toEqual(want);
  });
});

describe('client connections over the budget', { timeout: 30_000 }, () => {
  it('get 503 ConnectionLimit with Retry-After, and a place frees when a connection closes', async () => {
    const a = track(await startActivator([routeSpec('cold')], { maxClientConnections: 2 }));
    const first = await openRaw(a.port);
    const second = await openRaw(a.port);
    first.write(rawGet('cold.test'));
    second.write(rawGet('cold.test'));
    await until(() => a.routeStats('shop/cold').held === 2, 'two held');
    const third = await openRaw(a.port);
    third.write(rawGet('cold.test'));
    const [refused] = await third.waitResponses(1);
    expectOwnAnswer(refused, 503, 'ConnectionLimit', ['maxClientConnections 2']);
    expect(refused?.headers['retry-after']).toBe('1');
    await third.waitClosed();
    expect(a.activator.connections().clientConnections).toBe(2);
    first.socket.destroy();
    await until(() => a.activator.connections().clientConnections === 1, 'a place freed');
    const fourth = await openRaw(a.port);
    fourth.write(rawGet('cold.test'));
    await until(() => a.routeStats('shop/cold').held === 2, 'the new connection held');
  });
});

/** The child activator (fd-child.ts) under `ulimit -n <limit>`. */
interface Child {
  readonly process: ChildProcess;
  readonly hello: { port: number; openFileLimit: number; maxClientConnections: number };
  ask(command: string): Promise<Record<string, number | boolean>>;
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

/** `openFiles` as the soft and hard limit, or soft `openFiles` under a higher `hard` one. */
const startChild = async (
  openFiles: number,
  limits: Record<string, number> = {},
  hard?: number,
): Promise<Child> => {
  const ulimit =
    hard === undefined ? `ulimit -n ${openFiles}` : `ulimit -Sn ${openFiles} && ulimit -Hn ${hard}`;
  const child = spawn(
    '/bin/sh',
    ['-c', `${ulimit} && exec "$0" "$@"`, process.execPath, '--import', 'tsx', join(HERE, 'fd-child.ts')],
    {
      cwd: REPO,
      env: { ...process.env, EBB_CHILD_LIMITS: JSON.stringify(limits) },
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  children.push(child);
  const waiting: ((line: string) => void)[] = [];
  const lines: string[] = [];
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    const w = waiting.shift();
    if (w === undefined) lines.push(line);
    else w(line);
  });
  const next = (): Promise<string> =>
    new Promise((resolve) => {
      const queued = lines.shift();
      if (queued === undefined) waiting.push(resolve);
      else resolve(queued);
    });
  const hello = JSON.parse(await next()) as Child['hello'];
  return {
    process: child,
    hello,
    ask: async (command) => {
      child.stdin?.write(`${command}\n`);
      return JSON.parse(await next()) as Record<string, number | boolean>;
    },
  };
};

/** Waits until the child holds `n` requests. */
const heldInChild = async (child: Child, n: number): Promise<void> => {
  const end = Date.now() + 60_000;
  for (;;) {
    const { held } = await child.ask('stats');
    if (held === n) return;
    if (Date.now() > end) throw new Error(`the child holds ${String(held)} requests, not ${n}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

/** Opens `n` connections to `port`, each sending one GET for cold.test. */
const openHeld = async (port: number, n: number): Promise<RawConn[]> => {
  const conns: RawConn[] = [];
  for (let i = 0; i < n; i++) {
    const c = await openRaw(port);
    c.write(rawGet('cold.test', `/r${i}`));
    conns.push(c);
  }
  return conns;
};

describe('a real activator under a lowered open-file limit', { timeout: 120_000 }, () => {
  it('node raises its soft limit to the hard one by itself: the budget follows the hard limit', async () => {
    const child = await startChild(256, {}, 1024);
    expect(child.hello.openFileLimit).toBe(1024);
  });

  it('more connections than its budget: the extra ones get 503 ConnectionLimit at once, every held request is answered 200 on release', async () => {
    const child = await startChild(256);
    expect(child.hello.openFileLimit).toBe(256);
    const budget = child.hello.maxClientConnections;
    expect(budget).toBeGreaterThan(50);
    const conns = await openHeld(child.hello.port, budget + 60);
    await until(
      () => conns.filter((c) => c.responses().length > 0).length === 60,
      'the connections over the budget answered',
      60_000,
    );
    await heldInChild(child, budget);
    const backend: Backend = track(await startBackend());
    await child.ask(`release ${backend.endpoint.port}`);
    for (const c of conns) await c.waitResponses(1, 60_000);
    const answers = conns.map((c) => c.responses()[0]);
    const ok = answers.filter((r) => r?.status === 200);
    const refused = answers.filter((r) => r?.status === 503);
    expect(ok).toHaveLength(budget);
    expect(refused).toHaveLength(60);
    for (const r of refused) expectOwnAnswer(r, 503, 'ConnectionLimit', ['open-file limit of 256']);
    expect(refused.every((r) => r?.headers['retry-after'] === '1')).toBe(true);
    expect(backend.seen).toHaveLength(budget);
  });

  it('an upstream connect that fails with EMFILE is retried: with nearly every descriptor taken by clients, all held requests are answered 200', async () => {
    // No budget (limits far above the real one): the clients take nearly every descriptor.
    const child = await startChild(256, { maxClientConnections: 10_000, maxUpstreamRequests: 10_000 });
    const conns = await openHeld(child.hello.port, 200);
    await heldInChild(child, 200);
    const backend: Backend = track(await startBackend());
    await child.ask(`release ${backend.endpoint.port}`);
    for (const c of conns) await c.waitResponses(1, 60_000);
    const statuses = conns.map((c) => c.responses()[0]?.status);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    expect(backend.seen).toHaveLength(200);
    // The retry path was taken: connects did fail for want of descriptors.
    expect((await child.ask('stats')).upstreamShortages).toBeGreaterThan(0);
  });
});
