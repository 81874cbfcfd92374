// Process plumbing shared by the real servers in test/env: free ports, guarded child processes
// in their own process group, readiness polling and start-time reporting.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const GUARD = fileURLToPath(new URL('./guard.sh', import.meta.url));

export function log(message: string): void {
  process.stderr.write(`[ebb-env] ${message}\n`);
}

/** Seconds since `start` (a `performance.now()` value), one decimal. */
export function since(start: number): string {
  return `${((performance.now() - start) / 1000).toFixed(1)} s`;
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port assigned'));
      });
    });
  });
}

/** Distinct free ports (the kernel may hand out a just-released port twice otherwise). */
export async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

const OWNER_FILE = '.ebb-owner-pid';

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A fresh directory `$TMPDIR/ebb-<prefix>-XXXXXX` recording its owner's pid. Directories left
 * behind by owners that died without cleaning up (SIGKILL) are removed first; directories of
 * live owners (another run in progress) are never touched.
 */
export async function makeTempDir(prefix: string): Promise<string> {
  const base = `ebb-${prefix}-`;
  for (const entry of await readdir(tmpdir()).catch(() => [])) {
    if (!entry.startsWith(base)) continue;
    const dir = join(tmpdir(), entry);
    const owner = Number.parseInt(await readFile(join(dir, OWNER_FILE), 'utf8').catch(() => ''), 10);
    if (Number.isInteger(owner) && owner > 0 && !pidAlive(owner)) {
      await rm(dir, { recursive: true, force: true }).catch(() => {});
    }
  }
  const dir = await mkdtemp(join(tmpdir(), base));
  await writeFile(join(dir, OWNER_FILE), String(process.pid));
  return dir;
}

export async function removeDir(dir: string): Promise<void> {
  if (process.env.EBB_TEST_KEEP_TMP === '1') {
    log(`keeping ${dir} (EBB_TEST_KEEP_TMP=1)`);
    return;
  }
  await rm(dir, { recursive: true, force: true, maxRetries: 3 });
}

// Every live process group, so that an exiting Node process takes its servers with it even
// when nobody called stop(). guard.sh covers the cases where 'exit' never fires (SIGKILL).
const liveGroups = new Set<number>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const pgid of liveGroups) {
      try {
        process.kill(-pgid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** Set once the process has exited. */
  readonly exit: ExitInfo | undefined;
  /** Resolves when the process has exited. */
  readonly exited: Promise<ExitInfo>;
  /** SIGTERM (forwarded by the guard), SIGKILL to the process group after `graceMs`; resolves when it is gone. */
  stop(graceMs?: number): Promise<void>;
  /** The last lines of the process's log, for error messages. */
  logTail(lines?: number): string;
}

export interface StartProcessOptions {
  name: string;
  command: string;
  args: readonly string[];
  /** stdout and stderr go here (appended). */
  logFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** Starts `command` under guard.sh in a new process group, output to `logFile`. */
export function startProcess(opts: StartProcessOptions): ManagedProcess {
  installExitHook();
  const out = openSync(opts.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn('bash', [GUARD, opts.command, ...opts.args], {
      detached: true,
      stdio: ['pipe', out, out],
      env: opts.env ?? process.env,
      ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }),
    });
  } finally {
    closeSync(out);
  }
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${opts.name}: spawn of ${opts.command} failed`);
  liveGroups.add(pid);
  // Neither the child nor its stdin pipe may keep the event loop alive on their own.
  child.unref();
  const stdin = child.stdin as (NodeJS.WritableStream & { unref?: () => void }) | null;
  stdin?.unref?.();
  child.stdin?.on('error', () => {});

  let exit: ExitInfo | undefined;
  const exited = new Promise<ExitInfo>((resolve) => {
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      resolve(exit);
    });
  });

  const logTail = (lines = 30): string => {
    try {
      return readFileSync(opts.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  };

  const stop = async (graceMs = 15_000): Promise<void> => {
    if (!liveGroups.has(pid)) return;
    // SIGTERM to the guard only: it forwards one SIGTERM to the server and waits for it (a
    // second SIGTERM would make Kubernetes components skip their graceful shutdown).
    if (exit === undefined) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    const deadline = performance.now() + graceMs;
    while ((exit === undefined || groupAlive(pid)) && performance.now() < deadline) await sleep(25);
    if (exit === undefined || groupAlive(pid)) {
      log(`${opts.name} still running ${graceMs} ms after SIGTERM, sending SIGKILL`);
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
      const until = performance.now() + 5_000;
      while ((exit === undefined || groupAlive(pid)) && performance.now() < until) await sleep(20);
    }
    child.stdin?.destroy();
    liveGroups.delete(pid);
  };

  return {
    name: opts.name,
    pid,
    logFile: opts.logFile,
    get exit() {
      return exit;
    },
    exited,
    stop,
    logTail,
  };
}

export interface WaitOptions {
  /** What is awaited, for the error message. */
  what: string;
  timeoutMs: number;
  intervalMs?: number;
  /** Fail at once (with its log) when this process exits while waiting. */
  process?: ManagedProcess;
}

/** Polls `probe` until it returns true; probe errors count as "not yet". */
export async function waitUntil(probe: () => Promise<boolean>, opts: WaitOptions): Promise<void> {
  const deadline = performance.now() + opts.timeoutMs;
  let lastError: unknown;
  for (;;) {
    const proc = opts.process;
    if (proc?.exit !== undefined) {
      throw new Error(
        `${proc.name} exited (code ${proc.exit.code}, signal ${proc.exit.signal}) while waiting for ${opts.what}; ` +
          `log ${proc.logFile}:\n${proc.logTail()}`,
      );
    }
    try {
      if (await probe()) return;
      lastError = undefined;
    } catch (error) {
      lastError = error;
    }
    if (performance.now() > deadline) {
      const detail = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      const tail = proc === undefined ? '' : `; log ${proc.logFile}:\n${proc.logTail()}`;
      throw new Error(`timed out after ${opts.timeoutMs} ms waiting for ${opts.what}${detail}${tail}`);
    }
    await sleep(opts.intervalMs ?? 100);
  }
}

/** Runs a command to completion; rejects with its output when it fails. */
export function run(command: string, args: readonly string[], opts: { cwd?: string } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }),
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(output);
      else reject(new Error(`${command} ${args.join(' ')} exited with ${code}:\n${output}`));
    });
  });
}
