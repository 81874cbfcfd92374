// Graceful drain (src/activator/drain.ts): readiness fails first, connections keep being accepted
// and served for drainDelay (with `Connection: close` on every answer), and only then does the
// listener close; in-flight requests finish. Local mode drains the same way on Ctrl-C: a request
// forwarded to a replica finishes before the replicas are stopped.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../clock.ts';
import { processTree, type RunningCli, replicaPids, startCli } from '../../platform/local/running-cli.ts';
import {
  type Backend,
  call,
  closeAfterEach,
  routeSpec,
  serviceKey,
  startActivator,
  startBackend,
  until,
} from '../helpers.ts';
import { openRaw, rawGet } from './conn-harness.ts';

const track = closeAfterEach();

describe('drain delay', { timeout: 30_000 }, () => {
  it('during drainDelay readiness is false, yet new connections are accepted and served, each answer closing its connection; held requests stay held', async () => {
    const b: Backend = track(await startBackend());
    const a = track(await startActivator([routeSpec('app'), routeSpec('cold')], { drainDelayMs: 60_000 }));
    a.source.set(serviceKey('app'), [b.endpoint]);
    const held = call(a.port, 'cold.test');
    await until(() => a.routeStats('shop/cold').held === 1, 'the held request');

    const draining = a.activator.drain();
    expect(a.activator.draining()).toBe(true);
    // A new connection: accepted and forwarded, and told to close.
    const fresh = await call(a.port, 'app.test', '/during-delay');
    expect(fresh.status).toBe(200);
    expect(fresh.headers.connection).toBe('close');
    // A second request on a connection opened before: forwarded too (not 503), then closed.
    const c = await openRaw(a.port);
    c.write(rawGet('app.test', '/on-open-connection'));
    const [answer] = await c.waitResponses(1);
    expect(answer?.status).toBe(200);
    expect(answer?.headers.connection).toBe('close');
    await c.waitClosed();
    expect(a.activator.server.listening).toBe(true);
    expect(a.routeStats('shop/cold').held).toBe(1);
    expect(b.seen.map((r) => r.url)).toEqual(['/during-delay', '/on-open-connection']);

    // close() ends the drain at once.
    await a.activator.close();
    await draining;
    expect((await held).status).toBe(503);
  });

  it('after drainDelay the listener closes: new connections are refused, the held request gets 503 Draining', async () => {
    const clock = new VirtualClock(); // the drain delay runs on it
    const a = track(
      await startActivator([routeSpec('cold')], { drainDelayMs: 200 }, undefined, undefined, clock),
    );
    const held = call(a.port, 'cold.test');
    await until(() => a.routeStats('shop/cold').held === 1, 'the held request');
    const drained = a.activator.drain();
    await clock.advance(199);
    expect(a.activator.server.listening).toBe(true);
    await clock.advance(1);
    await drained;
    expect(a.activator.server.listening).toBe(false);
    await expect(call(a.port, 'cold.test')).rejects.toThrow(/ECONNREFUSED/);
    const got = await held;
    expect(got.status).toBe(503);
    expect(got.headers['x-ebb-reason']).toBe('Draining');
  });
});

describe('ebb local on Ctrl-C', { timeout: 120_000 }, () => {
  let cli: RunningCli | undefined;
  let dir = '';
  afterEach(() => {
    if (cli !== undefined) {
      for (const pid of [...processTree(cli.child.pid ?? 0), ...replicaPids(cli.lines)]) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {}
      }
      cli = undefined;
    }
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('a request forwarded to a replica finishes (200, whole body) before ebb stops the replicas and exits 0', async () => {
    dir = mkdtempSync(join(tmpdir(), 'ebb-drain-'));
    // /slow is answered when /release comes (straight to the replica: ebb no longer listens then).
    writeFileSync(
      join(dir, 'app.js'),
      [
        "const http = require('node:http');",
        'let pending = [];',
        'http.createServer((req, res) => {',
        "  if (req.url === '/healthz') return res.end('ok');",
        "  if (req.url === '/slow') { pending.push(res); return; }",
        "  if (req.url === '/release') { for (const r of pending) r.end('slow done'); pending = []; return res.end('released'); }",
        "  res.end('ok');",
        "}).listen(Number(process.env.PORT), '127.0.0.1');",
      ].join('\n'),
    );
    const file = join(dir, 'ebb.yaml');
    writeFileSync(
      file,
      [
        'apiVersion: local.ebb.dev/v1alpha1\nkind: LocalApp\nmetadata: { name: slow }\n',
        'spec: { command: node, args: [app.js], portEnv: PORT, readinessPath: /healthz, terminationGracePeriodSeconds: 5 }\n---\n',
        'apiVersion: autoscaling.ebb.dev/v1alpha1\nkind: ScaledObject\nmetadata: { name: slow }\n',
        'spec:\n  scaleTargetRef: { name: slow }\n  pollingInterval: 1\n  triggers:\n',
        '    - type: http\n      metadata: { hosts: "*", service: slow, port: "80" }\n',
      ].join(''),
    );
    cli = await startCli({ file });
    const slow = fetch(`${cli.url}slow`);
    await cli.line(/route default\/slow: replicas 1 \(1 ready\), in flight 1, held 0/);
    const [, port] = (await cli.line(/replica slow-0 started \(pid \d+, port (\d+)\)/)) as [string, string];

    cli.child.kill('SIGINT');
    await cli.line(/^ebb local: SIGINT, stopping every replica$/);
    // Still draining: the replica is up and ebb has not exited.
    const released = await fetch(`http://127.0.0.1:${port}/release`);
    expect(await released.text()).toBe('released');
    const answer = await slow;
    expect(answer.status).toBe(200);
    expect(answer.headers.get('connection')).toBe('close');
    expect(await answer.text()).toBe('slow done');
    expect(await cli.exited).toEqual({ code: 0, signal: null });
    await cli.line(/replica slow-0 stopped/);
  });
});
