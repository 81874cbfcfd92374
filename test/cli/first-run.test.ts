// First run without a cluster (issue 13): the real CLI (bin/ebb.js), HOME an empty directory,
// no KUBECONFIG, not in a pod. Every cluster command must exit 1 at once with what it tried and
// what to do (`ebb local` as the no-cluster path); never client-node's made-up context
// (`loaded-context`, http://localhost:8080), never `npm start` (that is local mode), never
// listening on a port first. A missing or unreadable --kubeconfig is named, with its errno.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../../bin/ebb.js', import.meta.url));
const home = mkdtempSync(join(tmpdir(), 'ebb-first-run-'));
afterAll(() => rmSync(home, { recursive: true, force: true }));

/** The environment of a new user: nothing that names a cluster, HOME empty. */
const cleanEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env))
    if (!/^(KUBECONFIG|KUBERNETES_|EBB_)/.test(key)) env[key] = value;
  return { ...env, HOME: home, ...extra };
};

/** Runs `ebb ...args`; a command that retries instead of exiting is killed and fails the test. */
const ebb = (args: string[], extra: Record<string, string> = {}) =>
  new Promise<{ code: number | null; stderr: string; stdout: string }>((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: cleanEnv(extra), stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => {
      clearTimeout(killer);
      resolve({ code, stderr, stdout });
    });
  });

/** What no first-run message may say. */
const expectNoMisleadingText = (stderr: string) => {
  expect(stderr).not.toContain('loaded-context');
  expect(stderr).not.toContain('localhost:8080');
  expect(stderr).not.toContain('npm start');
  expect(stderr).not.toMatch(/listening|TLS/i);
};

const TIMEOUT = 120_000;

describe('a cluster command with no kubeconfig anywhere', () => {
  it.each([
    ['run', ['run']],
    ['start', ['start']],
    ['activator', ['activator']],
    ['activator', ['activator', '--controller-url', 'http://127.0.0.1:1', '--report-token-file', 'none']],
  ])(
    'ebb %s exits 1 naming each place tried and `ebb local`',
    async (name, args) => {
      const { code, stderr } = await ebb([...args, '--health-port', '0', '--metrics-port', '0']);
      expect(code).toBe(1);
      const command = name === 'start' ? 'run' : name;
      expect(stderr).toMatch(
        new RegExp(`^ebb ${command}: no Kubernetes cluster is configured. Tried, in order:`),
      );
      expect(stderr).toMatch(/--kubeconfig\s+not given/);
      expect(stderr).toMatch(/\$KUBECONFIG\s+not set/);
      expect(stderr).toContain(`${join(home, '.kube', 'config')} does not exist`);
      expect(stderr).toMatch(/in-cluster\s+no ServiceAccount token/);
      expect(stderr).toContain('`ebb local FILE`');
      expectNoMisleadingText(stderr);
    },
    TIMEOUT,
  );
});

describe('a kubeconfig that cannot be used', () => {
  it(
    'a missing --kubeconfig is reported as such, with its path and errno',
    async () => {
      const missing = join(home, 'nowhere', 'config');
      const { code, stderr } = await ebb(['run', '--kubeconfig', missing]);
      expect(code).toBe(1);
      expect(stderr).toContain('ebb run: cannot read the kubeconfig.');
      expect(stderr).toContain(`--kubeconfig  cannot read ${missing}: ENOENT: no such file or directory`);
      expect(stderr).not.toContain('no Kubernetes cluster is reachable');
      expectNoMisleadingText(stderr);
    },
    TIMEOUT,
  );

  it(
    'a $KUBECONFIG entry that is a directory is named, with EISDIR',
    async () => {
      const { code, stderr } = await ebb(['activator'], { KUBECONFIG: home });
      expect(code).toBe(1);
      expect(stderr).toContain(`$KUBECONFIG  cannot read ${home}: EISDIR`);
      expectNoMisleadingText(stderr);
    },
    TIMEOUT,
  );

  it(
    'an API server that does not answer: the kubeconfig, context and server, then exit 1',
    async () => {
      const dir = join(home, 'unreachable');
      mkdirSync(dir, { recursive: true });
      const file = join(dir, 'config');
      writeFileSync(
        file,
        [
          'apiVersion: v1',
          'kind: Config',
          'clusters: [{name: c, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]',
          'users: [{name: u, user: {token: t}}]',
          'contexts: [{name: nowhere, context: {cluster: c, user: u}}]',
          'current-context: nowhere',
          '',
        ].join('\n'),
      );
      for (const args of [['run'], ['activator', '--port', '0']]) {
        const { code, stderr } = await ebb([
          ...args,
          '--kubeconfig',
          file,
          '--health-port',
          '0',
          '--metrics-port',
          '0',
        ]);
        expect(code).toBe(1);
        expect(stderr).toContain('no Kubernetes cluster is reachable.');
        expect(stderr).toContain(`kubeconfig:  --kubeconfig ${file}`);
        expect(stderr).toContain('context:     nowhere');
        expect(stderr).toContain('API server:  https://127.0.0.1:1');
        expectNoMisleadingText(stderr);
      }
    },
    TIMEOUT,
  );
});

describe('ebb start', () => {
  it(
    'is another name for ebb run: the same help, the same defaults',
    async () => {
      const [start, run] = await Promise.all([ebb(['start', '--help']), ebb(['run', '--help'])]);
      expect(start.code).toBe(0);
      expect(start.stdout).toBe(run.stdout);
      const top = await ebb(['--help']);
      expect(top.stdout).toMatch(/run\|start \[args\.\.\.\]\s+run the controller against a cluster/);
    },
    TIMEOUT,
  );
});
