// The supervisor against real processes: readiness gating, SIGTERM then SIGKILL, process
// groups, crash restarts with backoff, startup timeouts, and stopping everything.
import { request } from 'node:http';
import { connect } from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Endpoint } from '../../../src/activator/ports.ts';
import { ProcessGroup, Supervisor, type SupervisorOptions } from '../../../src/platform/local/supervisor.ts';
import { VirtualClock } from '../../clock.ts';
import { EventLog, eventually, isAlive, makeAppDir } from './replica-apps.ts';

const apps = makeAppDir();
afterAll(() => apps.remove());

const running: (ProcessGroup | Supervisor)[] = [];
afterEach(async () => {
  for (const g of running.splice(0)) g.killAllNow();
});

const groupOf = (app: ReturnType<typeof apps.app>, opts: Omit<SupervisorOptions, 'onEvent'> = {}) => {
  const log = new EventLog();
  const group = new ProcessGroup(app, { readinessIntervalMs: 25, ...opts, onEvent: log.onEvent });
  running.push(group);
  return { group, log };
};

const accepts = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });

const getJson = (port: number): Promise<{ pid: number; port: number }> =>
  new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      let body = '';
      res.on('data', (c) => {
        body += String(c);
      });
      res.on('end', () => resolve(JSON.parse(body)));
    })
      .on('error', reject)
      .end();
  });

describe('readiness', () => {
  it('gives each replica its own port in portEnv and makes it an endpoint only once its readiness path answers', async () => {
    const { group, log } = groupOf(apps.app('gated', { HEALTH_AFTER_MS: '700' }));
    const seen: (readonly Endpoint[])[] = [];
    group.subscribe((ready) => seen.push(ready));
    group.scale(2);
    expect(group.desired).toBe(2);
    const first = await log.nth('started', 1);
    const second = await log.nth('started', 2);
    expect(first.port).not.toBe(second.port);

    // The port accepts (from the process's start) 700 ms before /healthz says 200: during that
    // window the replica is no endpoint.
    let acceptedWhileUnready = false;
    const deadline = performance.now() + 10_000;
    while (!acceptedWhileUnready && group.ready().length === 0 && performance.now() < deadline) {
      if ((await accepts(first.port)) && group.ready().length === 0) {
        acceptedWhileUnready = true;
        expect(group.view().find((r) => r.name === first.replica)?.phase).toBe('starting');
      } else await new Promise((r) => setTimeout(r, 10));
    }
    expect(acceptedWhileUnready).toBe(true);

    const ready = await log.nth('ready', 1);
    expect(ready.afterMs).toBeGreaterThanOrEqual(600);
    await log.nth('ready', 2);
    const endpoints = group.ready();
    expect(endpoints).toEqual(
      [first, second]
        .sort((a, b) => a.replica.localeCompare(b.replica))
        .map((s) => ({ address: '127.0.0.1', port: s.port })),
    );
    expect(seen.at(-1)).toEqual(endpoints);
    // The process really got the port it was given.
    const answer = await getJson(first.port);
    expect(answer).toEqual({ pid: first.pid, port: first.port });
    expect(group.view().map((r) => [r.name, r.phase])).toEqual([
      ['gated-0', 'ready'],
      ['gated-1', 'ready'],
    ]);
  });

  it('without a readiness path, a replica is ready once its port accepts connections', async () => {
    const { group, log } = groupOf(apps.app('tcp', { LISTEN_AFTER_MS: '500' }, { readinessPath: undefined }));
    group.scale(1);
    const started = await log.nth('started');
    expect(group.ready()).toEqual([]);
    const ready = await log.nth('ready');
    expect(ready.afterMs).toBeGreaterThanOrEqual(450);
    expect(group.ready()).toEqual([{ address: '127.0.0.1', port: started.port }]);
  });

  it('an app with protocol h2c has endpoints the activator speaks h2c to', async () => {
    const { group, log } = groupOf(apps.app('h2c', {}, { readinessPath: undefined, protocol: 'h2c' }));
    group.scale(1);
    const started = await log.nth('started');
    await log.nth('ready');
    expect(group.ready()).toEqual([{ address: '127.0.0.1', port: started.port, protocol: 'h2c' }]);
  });

  it('a replica not ready within the startup timeout is killed and counted a crash', async () => {
    const { group, log } = groupOf(
      apps.app('never', { HEALTH_AFTER_MS: '60000' }, { startupTimeoutMs: 400 }),
      {
        baseBackoffMs: 5000,
      },
    );
    group.scale(1);
    const started = await log.nth('started');
    const crashed = await log.nth('crashed');
    expect(crashed.why).toBe('not ready within 0.4 s');
    expect(crashed.restarts).toBe(1);
    expect(crashed.at - started.at).toBeGreaterThanOrEqual(350);
    await eventually('timed-out replica gone', () => !isAlive(started.pid));
    expect(group.view()).toMatchObject([{ name: 'never-0', phase: 'backoff', restarts: 1, pid: undefined }]);
  });
});

describe('stopping', () => {
  it('scales down with SIGTERM; a replica that exits in time is not killed', async () => {
    const { group, log } = groupOf(apps.app('polite'));
    group.scale(1);
    const started = await log.nth('started');
    await log.nth('ready');
    const t0 = performance.now();
    group.scale(0);
    expect(group.ready()).toEqual([]); // no new requests go to a stopping replica
    const stopped = await log.nth('stopped');
    expect(stopped).toMatchObject({ replica: 'polite-0', killed: false });
    expect(stopped.at - t0).toBeLessThan(1900);
    expect(isAlive(started.pid)).toBe(false);
    expect(group.view()).toEqual([]);
  });

  it('SIGKILLs a replica that ignores SIGTERM once the grace period is over', async () => {
    const { group, log } = groupOf(apps.app('stubborn', { IGNORE_TERM: '1' }, { gracePeriodMs: 800 }));
    group.scale(1);
    const started = await log.nth('started');
    await log.nth('ready');
    const t0 = performance.now();
    group.scale(0);
    await new Promise((r) => setTimeout(r, 400));
    expect(isAlive(started.pid)).toBe(true); // SIGTERM ignored, still in its grace period
    expect(group.view()).toMatchObject([{ name: 'stubborn-0', phase: 'stopping' }]);
    const stopped = await log.nth('stopped');
    expect(stopped.killed).toBe(true);
    expect(stopped.at - t0).toBeGreaterThanOrEqual(780);
    expect(stopped.at - t0).toBeLessThan(4000);
    expect(isAlive(started.pid)).toBe(false);
  });

  it('stops the whole process group: a grandchild goes with its replica', async () => {
    const file = 'grandchild-stop.pid';
    const { group, log } = groupOf(apps.app('parent', { GRANDCHILD_FILE: apps.path(file) }));
    group.scale(1);
    const started = await log.nth('started');
    await log.nth('ready');
    const grandchild = Number(apps.read(file));
    expect(isAlive(grandchild)).toBe(true);
    await group.stop();
    expect(isAlive(started.pid)).toBe(false);
    await eventually('grandchild gone', () => !isAlive(grandchild));
  });

  it('Supervisor.stop() stops every group and resolves once every process has exited', async () => {
    const log = new EventLog();
    const supervisor = new Supervisor(
      [apps.app('one'), apps.app('two', { IGNORE_TERM: '1' }, { gracePeriodMs: 300 })],
      { readinessIntervalMs: 25, onEvent: log.onEvent },
    );
    running.push(supervisor);
    supervisor.group('default', 'one')?.scale(2);
    supervisor.group('default', 'two')?.scale(1);
    await log.nth('ready', 3);
    const pids = log.of('started').map((e) => e.pid);
    await supervisor.stop();
    expect(pids.filter(isAlive)).toEqual([]);
    expect(
      log
        .of('stopped')
        .map((e) => `${e.replica}${e.killed ? ' killed' : ''}`)
        .sort(),
    ).toEqual(['one-0', 'one-1', 'two-0 killed']);
    expect(supervisor.all().flatMap((g) => g.view())).toEqual([]);
  });

  it('killAllNow() SIGKILLs every group at once, grandchildren included', async () => {
    const file = 'grandchild-kill.pid';
    const log = new EventLog();
    const supervisor = new Supervisor([apps.app('doomed', { GRANDCHILD_FILE: apps.path(file) })], {
      readinessIntervalMs: 25,
      onEvent: log.onEvent,
    });
    supervisor.group('default', 'doomed')?.scale(1);
    const started = await log.nth('started');
    await log.nth('ready');
    const grandchild = Number(apps.read(file));
    supervisor.killAllNow();
    await eventually('replica and grandchild gone', () => !isAlive(started.pid) && !isAlive(grandchild));
  });
});

describe('crashes', () => {
  it('restarts a crashed replica with doubling backoff up to the maximum, and reports each crash', async () => {
    // The crashes are real processes; the backoff runs on a virtual clock the test moves.
    const clock = new VirtualClock();
    const { group, log } = groupOf(
      apps.app('crashy', { CRASH_AFTER_MS: '50' }, { readinessPath: undefined }),
      {
        baseBackoffMs: 200,
        maxBackoffMs: 600,
        clock,
      },
    );
    group.scale(1);
    // Each restart waits out its backoff: not started a millisecond before it, started at it.
    for (let i = 1; i <= 4; i++) {
      const crash = await log.nth('crashed', i, 15_000);
      await clock.advance(crash.backoffMs - 1);
      expect(log.of('started'), `no start within the backoff after crash ${i}`).toHaveLength(i);
      await clock.advance(1);
      await log.nth('started', i + 1, 15_000);
    }
    const crashes = log.of('crashed').slice(0, 4);
    expect(crashes.map((c) => [c.replica, c.restarts, c.backoffMs, c.why])).toEqual([
      ['crashy-0', 1, 200, 'exit code 1'],
      ['crashy-0', 2, 400, 'exit code 1'],
      ['crashy-0', 3, 600, 'exit code 1'],
      ['crashy-0', 4, 600, 'exit code 1'],
    ]);
    for (const c of crashes) expect(c.stderrTail).toContain('boom');
    const starts = log.of('started');
    // A restarted replica keeps its name and gets a fresh process.
    expect(new Set(starts.map((s) => s.replica))).toEqual(new Set(['crashy-0']));
    expect(new Set(starts.map((s) => s.pid)).size).toBe(starts.length);
  });

  it('resets the restart count once a replica stayed ready long enough', async () => {
    const { group, log } = groupOf(apps.app('flaky', { CRASH_AFTER_MS: '600' }), {
      baseBackoffMs: 100,
      resetBackoffAfterMs: 300,
    });
    group.scale(1);
    await log.nth('crashed', 2, 10_000);
    expect(log.of('crashed').map((c) => [c.restarts, c.backoffMs])).toEqual([
      [1, 100],
      [1, 100],
    ]);
  });

  it('reports a command that cannot be started, and keeps retrying it', async () => {
    const { group, log } = groupOf(apps.app('missing', {}, { command: 'ebb-no-such-command' }), {
      baseBackoffMs: 100,
    });
    group.scale(1);
    const first = await log.nth('crashed');
    expect(first.why).toMatch(/^spawn ebb-no-such-command: .*ENOENT/);
    const second = await log.nth('crashed', 2);
    expect(second.restarts).toBe(2);
    expect(log.of('started')).toEqual([]);
  });

  it('scaling down a replica that waits to restart removes it without a process to stop', async () => {
    const { group, log } = groupOf(apps.app('gone', { CRASH_AFTER_MS: '50' }, { readinessPath: undefined }), {
      baseBackoffMs: 60_000,
    });
    group.scale(1);
    await log.nth('crashed');
    expect(group.view()).toMatchObject([{ phase: 'backoff', restarts: 1 }]);
    group.scale(0);
    expect(group.view()).toEqual([]);
    expect(log.of('stopped')).toMatchObject([{ replica: 'gone-0', killed: false }]);
    await group.stop();
  });
});
