// Real child processes for the supervisor's tests: small Node scripts written to a temp folder,
// run with this Node (process.execPath). They are cheap, and the supervisor's job is signals,
// process groups and timing, which only real processes show.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LocalApp } from '../../../src/platform/local/file.ts';
import type { SupervisorEvent } from '../../../src/platform/local/supervisor.ts';

// An HTTP replica on 127.0.0.1:$PORT. Knobs (environment):
//   LISTEN_AFTER_MS   listen only after this long
//   HEALTH_AFTER_MS   /healthz answers 503 until this long after start, then 200
//   IGNORE_TERM=1     SIGTERM does nothing (the supervisor must SIGKILL after the grace period)
//   GRANDCHILD_FILE   start a grandchild (same process group) and write its pid here
//   CRASH_AFTER_MS    write "boom" to stderr and exit 1 after this long
const SERVER = `
import { createServer } from 'node:http';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
const env = process.env;
const started = Date.now();
const port = Number(env.PORT);
const healthAfter = Number(env.HEALTH_AFTER_MS ?? '0');
const server = createServer((req, res) => {
  if (req.url === '/healthz') {
    res.writeHead(Date.now() - started >= healthAfter ? 200 : 503).end();
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ pid: process.pid, port }));
});
setTimeout(() => server.listen(port, '127.0.0.1'), Number(env.LISTEN_AFTER_MS ?? '0'));
if (env.GRANDCHILD_FILE) {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  writeFileSync(env.GRANDCHILD_FILE, String(child.pid));
}
if (env.CRASH_AFTER_MS) {
  setTimeout(() => { process.stderr.write('boom\\n'); process.exit(1); }, Number(env.CRASH_AFTER_MS));
}
process.on('SIGTERM', () => {
  if (env.IGNORE_TERM === '1') return;
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 50);
});
`;

export interface AppDir {
  readonly dir: string;
  /** A LocalApp running the test server with `env`; every other field overridable. */
  app(name: string, env?: Record<string, string>, over?: Partial<LocalApp>): LocalApp;
  /** A file in the folder (for GRANDCHILD_FILE). */
  path(file: string): string;
  read(file: string): string;
  remove(): void;
}

export const makeAppDir = (): AppDir => {
  const dir = mkdtempSync(join(tmpdir(), 'ebb-supervisor-'));
  writeFileSync(join(dir, 'server.mjs'), SERVER);
  return {
    dir,
    app: (name, env = {}, over = {}) => ({
      namespace: 'default',
      name,
      command: process.execPath,
      args: ['server.mjs'],
      cwd: dir,
      env,
      portEnv: 'PORT',
      readinessPath: '/healthz',
      protocol: 'http/1.1',
      startupTimeoutMs: 10_000,
      gracePeriodMs: 2000,
      ...over,
    }),
    path: (file) => join(dir, file),
    read: (file) => readFileSync(join(dir, file), 'utf8'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
};

/** Alive and not a zombie (a container's PID 1 may not reap orphans). */
export const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
};

export type Timed = SupervisorEvent & { readonly at: number };

/** Collects the supervisor's events with the time each arrived; waits for one. */
export class EventLog {
  readonly events: Timed[] = [];
  private readonly waiters = new Set<() => void>();

  readonly onEvent = (e: SupervisorEvent): void => {
    this.events.push({ ...e, at: performance.now() });
    for (const w of [...this.waiters]) w();
  };

  of<T extends SupervisorEvent['type']>(type: T): (Timed & { type: T })[] {
    return this.events.filter((e): e is Timed & { type: T } => e.type === type);
  }

  /** Resolves with the `n`th (1-based) event of `type`, failing after `timeoutMs`. */
  nth<T extends SupervisorEvent['type']>(type: T, n = 1, timeoutMs = 10_000): Promise<Timed & { type: T }> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.of(type)[n - 1];
        if (found === undefined) return;
        this.waiters.delete(check);
        clearTimeout(timer);
        resolve(found);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(
          new Error(
            `no ${type} event #${n} within ${timeoutMs} ms; got ${JSON.stringify(this.events.map((e) => e.type))}`,
          ),
        );
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }
}

/** Polls `f` until it returns true, failing after `timeoutMs`. */
export const eventually = async (what: string, f: () => boolean, timeoutMs = 5000): Promise<void> => {
  const deadline = performance.now() + timeoutMs;
  while (!f()) {
    if (performance.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};
