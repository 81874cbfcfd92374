// Nothing outlives ebb, even a SIGKILLed one. Replicas lead their own process groups (so a
// terminal's Ctrl-C reaches ebb only, which then stops them in order), which also means the
// kernel does not stop them when ebb dies. The Reaper is a small detached Node process that ebb
// tells, over a pipe on its stdin, which groups are alive (`+pid` / `-pid` lines). When the
// pipe reaches end-of-file (ebb closed it, or ebb died however it died), the Reaper sends
// SIGTERM to every group still listed, SIGKILL to those left after the grace period, and exits.
import { spawn } from 'node:child_process';
import { Socket } from 'node:net';
import type { ProcessGuard } from './process-group.ts';

// Plain JavaScript run with `node -e`; argv[1] is the grace period in ms.
const REAPER_SCRIPT = `
const graceMs = Number(process.argv[1]);
const groups = new Set();
const alive = (pid) => { try { process.kill(-pid, 0); return true; } catch { return false; } };
const signal = (sig) => { for (const pid of groups) { try { process.kill(-pid, sig); } catch {} } };
let partial = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  const lines = (partial + chunk).split('\\n');
  partial = lines.pop();
  for (const line of lines) {
    const pid = Number(line.slice(1));
    if (!Number.isInteger(pid) || pid <= 0) continue;
    if (line[0] === '+') groups.add(pid); else groups.delete(pid);
  }
});
process.stdin.on('end', () => {
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  const check = () => {
    for (const pid of groups) if (!alive(pid)) groups.delete(pid);
    if (groups.size === 0) process.exit(0);
    if (Date.now() >= deadline) { signal('SIGKILL'); process.exit(0); }
    setTimeout(check, 100);
  };
  check();
});
`;

export interface Reaper extends ProcessGuard {
  /** The Reaper's own pid. */
  readonly pid: number | undefined;
  /** Ends the pipe: the Reaper stops what is still listed (nothing, after a graceful stop) and exits. */
  close(): void;
}

/** Starts the Reaper (`process.execPath -e ...`); groups still alive at EOF get `graceMs` after SIGTERM. */
export const startReaper = (graceMs: number): Reaper => {
  const child = spawn(process.execPath, ['-e', REAPER_SCRIPT, String(graceMs)], {
    detached: true,
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  child.on('error', () => {});
  const stdin = child.stdin;
  stdin?.on('error', () => {});
  // Neither the Reaper nor its pipe keeps ebb's event loop alive.
  child.unref();
  if (stdin instanceof Socket) stdin.unref();
  let open = true;
  const send = (line: string) => {
    if (open) stdin?.write(`${line}\n`);
  };
  return {
    pid: child.pid,
    track: (pid) => send(`+${pid}`),
    untrack: (pid) => send(`-${pid}`),
    close: () => {
      if (!open) return;
      open = false;
      stdin?.end();
    },
  };
};
