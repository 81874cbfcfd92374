// `ebb local` as a child process, for the integration and browser tests: started exactly as
// `npm start` starts it (the pinned Node first on PATH, `node --import tsx src/main.ts local
// FILE`), or through `npm start` itself; its printed URLs read from stdout; its process tree
// read from /proc, so a test can check that nothing is left once it stopped.
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isAlive } from './replica-apps.ts';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const EXAMPLE = 'examples/local/ebb.yaml';

export interface RunningCli {
  readonly child: ChildProcess;
  /** ebb's own pid (printed in its first line; under npm it is npm's child). */
  readonly ebbPid: number;
  /** The activator's URL, as printed (`URL: ...`). */
  readonly url: string;
  /** The status page's URL, as printed. */
  readonly uiUrl: string;
  /** Every stdout line so far. */
  readonly lines: string[];
  stderr(): string;
  /** Resolves with the first line (seen or to come) matching `re`. */
  line(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** PATH with the Node running this test first, as `npm run` puts the pinned Node first. */
const pathWithThisNode = (): string =>
  [dirname(process.execPath), join(REPO, 'node_modules', '.bin'), process.env.PATH ?? ''].join(delimiter);

export const cliEnv = (): NodeJS.ProcessEnv => ({ ...process.env, PATH: pathWithThisNode() });

/** Spawns `ebb local` (`via: 'node'`) or `npm start --` (`via: 'npm'`) with `args` after the file. */
export const startCli = async (
  opts: { via?: 'node' | 'npm'; file?: string; args?: readonly string[]; timeoutMs?: number } = {},
): Promise<RunningCli> => {
  const args = opts.args ?? ['--port', '0', '--ui-port', '0'];
  const child =
    opts.via === 'npm'
      ? spawn('npm', ['start', '--silent', '--', ...args], { cwd: REPO, env: cliEnv() })
      : spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'local', opts.file ?? EXAMPLE, ...args], {
          cwd: REPO,
          env: cliEnv(),
        });
  const lines: string[] = [];
  let stderr = '';
  const waiters = new Set<() => void>();
  let partial = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    const split = (partial + chunk).split('\n');
    partial = split.pop() ?? '';
    lines.push(...split);
    for (const w of [...waiters]) w();
  });
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr += chunk;
  });
  let gone = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.once('exit', (code, signal) => {
      // Before the waiters look: each fails at once on an exit instead of at its timeout.
      gone = true;
      for (const w of [...waiters]) w();
      done({ code, signal });
    }),
  );
  const line = (re: RegExp, timeoutMs = 30_000): Promise<RegExpMatchArray> =>
    new Promise((found, fail) => {
      const check = () => {
        for (const l of lines) {
          const m = l.match(re);
          if (m !== null) {
            waiters.delete(check);
            clearTimeout(timer);
            found(m);
            return;
          }
        }
        if (gone) {
          waiters.delete(check);
          clearTimeout(timer);
          fail(
            new Error(
              `ebb local exited before printing ${re}\nstdout:\n${lines.join('\n')}\nstderr:\n${stderr}`,
            ),
          );
        }
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        fail(
          new Error(`no line ${re} within ${timeoutMs} ms\nstdout:\n${lines.join('\n')}\nstderr:\n${stderr}`),
        );
      }, timeoutMs);
      waiters.add(check);
      check();
    });
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const [, pid] = (await line(/^ebb local: .* \(pid (\d+)\)$/, timeoutMs)) as [string, string];
  const [, url] = (await line(/^\s+URL:\s+(http:\/\/\S+)/, timeoutMs)) as [string, string];
  const [, uiUrl] = (await line(/^\s+status page:\s+(http:\/\/\S+)/, timeoutMs)) as [string, string];
  return { child, ebbPid: Number(pid), url, uiUrl, lines, stderr: () => stderr, line, exited };
};

/** `pid` and every process below it, from /proc (replicas lead their own groups but stay children). */
export const processTree = (pid: number): number[] => {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    out.push(p);
    for (const c of children.get(p) ?? []) walk(c);
  };
  walk(pid);
  return out;
};

/** The replica pids printed in `replica <name> started (pid N, ...)` lines. */
export const replicaPids = (lines: readonly string[]): number[] =>
  lines.flatMap((l) => {
    const m = l.match(/replica \S+ started \(pid (\d+),/);
    return m === null ? [] : [Number(m[1])];
  });

export const alive = (pids: readonly number[]): number[] => pids.filter(isAlive);
