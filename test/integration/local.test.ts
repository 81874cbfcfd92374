// `npm start` end to end: the embedded local mode with the shipped example, as a user runs it.
// No cluster and no broker is needed (the example's RabbitMQ and Kafka triggers are reported
// as unavailable when nothing listens on 127.0.0.1:5672/9092, and used when something does).
// Each test checks the cold start through the printed URL and that stopping ebb, however it
// is stopped, leaves no process behind.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually } from '../platform/local/replica-apps.ts';
import {
  alive,
  cliEnv,
  processTree,
  REPO,
  type RunningCli,
  replicaPids,
  startCli,
} from '../platform/local/running-cli.ts';

const started: RunningCli[] = [];
afterEach(async () => {
  // A failed test must not leave ebb or its replicas running.
  for (const cli of started.splice(0)) {
    const tree = processTree(cli.child.pid ?? 0);
    cli.child.kill('SIGKILL');
    for (const pid of [...tree, ...replicaPids(cli.lines)]) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {}
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
  }
});

const start = async (opts: Parameters<typeof startCli>[0] = {}) => {
  const cli = await startCli(opts);
  started.push(cli);
  return cli;
};

/** GET through the activator, timed. */
const coldStart = async (url: string): Promise<{ status: number; body: string; ms: number }> => {
  const t0 = performance.now();
  const res = await fetch(url, { signal: AbortSignal.timeout(30_000) });
  const body = await res.text();
  return { status: res.status, body, ms: performance.now() - t0 };
};

describe('ebb local with examples/local', () => {
  it('npm start: prints the URL, answers a request after a cold start, and SIGTERM to npm leaves nothing behind', async () => {
    const cli = await start({ via: 'npm' });
    expect(cli.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(cli.uiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    await cli.line(/route default\/hello: replicas 0 \(0 ready\), in flight 0, held 0/);

    const answer = await coldStart(cli.url);
    console.log(`cold start of hello through ${cli.url}: ${answer.ms.toFixed(0)} ms`);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatch(/^hello from hello \(pid \d+, port \d+\)/);
    await cli.line(/Normal ScaleTargetActivated default\/hello: Scaled LocalApp default\/hello from 0 to 1/);
    await cli.line(/replica hello-0 ready after/);
    await cli.line(/route default\/hello: replicas 1 \(1 ready\), in flight 0, held 0/);
    // The request was answered by the replica ebb started, on the port it gave it.
    const hello = cli.lines.find((l) => /replica hello-0 started/.test(l)) ?? '';
    const [, pid, port] = hello.match(/\(pid (\d+), port (\d+)\)/) ?? [];
    expect(answer.body).toContain(`(pid ${pid}, port ${port})`);

    const tree = processTree(cli.child.pid ?? 0);
    expect(tree).toContain(cli.ebbPid);
    expect(tree).toContain(Number(pid));
    cli.child.kill('SIGTERM'); // npm passes it on to ebb
    expect(await cli.exited).toEqual({ code: 0, signal: null });
    expect(cli.lines).toContain('ebb local: SIGTERM, stopping every replica');
    await cli.line(/replica hello-0 stopped$/);
    await eventually(
      'every process of the run gone',
      () => alive([...tree, ...replicaPids(cli.lines)]).length === 0,
    );
  });

  it('SIGINT (Ctrl-C) stops every replica and exits 0', async () => {
    const cli = await start();
    const answer = await coldStart(cli.url);
    expect(answer.status).toBe(200);
    // A second request finds the replica ready: no hold.
    const warm = await coldStart(cli.url);
    expect(warm.status).toBe(200);
    expect(warm.ms).toBeLessThan(answer.ms);

    const status = (await (await fetch(`${cli.uiUrl}api/status`)).json()) as {
      objects: { key: string; replicas: number; ready: number; processes: { pid: number }[] }[];
    };
    const hello = status.objects.find((o) => o.key === 'default/hello');
    expect(hello).toMatchObject({ replicas: 1, ready: 1 });
    const pids = [...(hello?.processes.map((p) => p.pid) ?? []), ...replicaPids(cli.lines)];
    expect(alive(pids)).toEqual(pids);
    const tree = processTree(cli.ebbPid);

    const t0 = performance.now();
    cli.child.kill('SIGINT');
    expect(await cli.exited).toEqual({ code: 0, signal: null });
    console.log(`ebb local stopped in ${(performance.now() - t0).toFixed(0)} ms`);
    expect(alive(pids)).toEqual([]);
    await eventually('every process of the run gone', () => alive(tree).length === 0);
  });

  it('a SIGKILLed ebb leaves no replica behind (the Reaper stops them)', async () => {
    const cli = await start();
    expect((await coldStart(cli.url)).status).toBe(200);
    const tree = processTree(cli.ebbPid);
    const pids = replicaPids(cli.lines);
    expect(pids.length).toBeGreaterThan(0);
    expect(tree.length).toBeGreaterThan(pids.length + 1); // ebb, its replicas, the Reaper
    cli.child.kill('SIGKILL');
    await cli.exited;
    await eventually('replicas and Reaper gone', () => alive(tree).length === 0, 10_000);
  });

  it('a SIGKILLed parent (npm, which can pass nothing on) stops ebb local and every replica', async () => {
    const cli = await start({ via: 'npm' });
    expect((await coldStart(cli.url)).status).toBe(200);
    const pids = replicaPids(cli.lines);
    expect(pids.length).toBeGreaterThan(0);
    const tree = processTree(cli.child.pid ?? 0);
    expect(tree).toContain(cli.ebbPid);
    cli.child.kill('SIGKILL');
    await cli.exited;
    // ebb itself noticed (it checks its parent twice a second) and stopped as on SIGTERM: no
    // Reaper kill, the replicas stopped one by one. npm is gone, so the lines are read directly.
    await eventually(
      'ebb says its parent is gone',
      () => cli.lines.some((l) => /^ebb local: parent process \d+ gone, stopping every replica$/.test(l)),
      10_000,
    );
    await eventually(
      'replica stopped',
      () => cli.lines.some((l) => /replica hello-0 stopped$/.test(l)),
      10_000,
    );
    await eventually('every process of the run gone', () => alive([...tree, ...pids]).length === 0, 10_000);
  });

  it('a trigger whose server is unreachable is reported as unavailable, not fatal', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ebb-local-'));
    try {
      const file = join(dir, 'ebb.yaml');
      // A RabbitMQ trigger on a port nothing listens on (a closed listener's port).
      const closed = createServer();
      await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
      const port = (closed.address() as { port: number }).port;
      await new Promise<void>((r) => closed.close(() => r()));
      writeFileSync(
        file,
        [
          'apiVersion: local.ebb.dev/v1alpha1\nkind: LocalApp\nmetadata: { name: worker }\n',
          'spec: { command: node, args: ["-e", "setInterval(() => {}, 1000)"], portEnv: PORT }\n---\n',
          'apiVersion: autoscaling.ebb.dev/v1alpha1\nkind: ScaledObject\nmetadata: { name: worker }\n',
          'spec:\n  scaleTargetRef: { name: worker }\n  pollingInterval: 1\n  triggers:\n',
          `    - type: rabbitmq\n      metadata: { host: "amqp://guest:guest@127.0.0.1:${port}/", queueName: q, mode: QueueLength, value: "5" }\n`,
        ].join(''),
      );
      const cli = await start({ file });
      await cli.line(/Warning ScalerFailed default\/worker: .*cannot reach RabbitMQ/);
      const status = (await (await fetch(`${cli.uiUrl}api/status`)).json()) as {
        objects: { key: string; triggers: { error: string | null }[] }[];
      };
      expect(status.objects[0]?.triggers[0]?.error).toMatch(/^unavailable: .*cannot reach RabbitMQ/);
      // Still serving: the next polls fail the same way, reported once.
      await new Promise((r) => setTimeout(r, 2500));
      expect(cli.lines.filter((l) => l.includes('Warning ScalerFailed'))).toHaveLength(1);
      expect((await fetch(`${cli.uiUrl}api/status`)).status).toBe(200);
      cli.child.kill('SIGTERM');
      expect(await cli.exited).toEqual({ code: 0, signal: null });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a bad file: exit 1 and every problem on stderr, naming the field', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ebb-local-'));
    try {
      const file = join(dir, 'bad.yaml');
      writeFileSync(
        file,
        'apiVersion: local.ebb.dev/v1alpha1\nkind: LocalApp\nmetadata: { name: web }\nspec: { command: node, portEnv: PORT, terminationGracePeriodSeconds: -1 }\n',
      );
      const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts', 'local', file], {
        cwd: REPO,
        env: cliEnv(),
        encoding: 'utf8',
      });
      expect(run.status).toBe(1);
      expect(run.stderr).toBe(
        `ebb local: ${file}:1: spec.terminationGracePeriodSeconds: must be >= 0, got -1\n`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
