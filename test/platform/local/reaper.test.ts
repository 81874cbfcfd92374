// The Reaper stops the process groups it was told about once its pipe closes, however its
// owner ended; groups untracked in time are left alone.
import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { signalGroup } from '../../../src/platform/local/probes.ts';
import { startReaper } from '../../../src/platform/local/reaper.ts';
import { eventually, isAlive } from './replica-apps.ts';

const leaders: number[] = [];
afterEach(() => {
  for (const pid of leaders.splice(0)) signalGroup(pid, 'SIGKILL');
});

/** A detached process group leader running `script`. */
const group = (script: string): number => {
  const child = spawn(process.execPath, ['-e', script], { detached: true, stdio: 'ignore' });
  child.unref();
  if (child.pid === undefined) throw new Error('no pid');
  leaders.push(child.pid);
  return child.pid;
};

/** A group leader that ignores SIGTERM, resolved once its handler is installed (a fixed sleep
 * is not enough on a loaded machine: node may take longer than that to start). */
const stubbornGroup = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const script =
      "process.on('SIGTERM', () => {}); process.stdout.write('ready\\n'); setInterval(() => {}, 1000)";
    const child = spawn(process.execPath, ['-e', script], {
      detached: true,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    if (child.pid === undefined) return reject(new Error('no pid'));
    const pid = child.pid;
    leaders.push(pid);
    child.stdout.once('data', () => {
      child.stdout.destroy();
      child.unref();
      resolve(pid);
    });
    child.once('exit', (code) => reject(new Error(`stubborn group exited early (${code})`)));
  });

describe('Reaper', () => {
  it('SIGTERMs the groups still listed when its pipe closes, and SIGKILLs those that ignore it', async () => {
    const reaper = startReaper(1500);
    const polite = group('setInterval(() => {}, 1000)');
    const stubborn = await stubbornGroup();
    const untracked = group('setInterval(() => {}, 1000)');
    reaper.track(polite);
    reaper.track(stubborn);
    reaper.track(untracked);
    reaper.untrack(untracked);
    const t0 = performance.now();
    reaper.close();
    await eventually('polite group gone', () => !isAlive(polite), 3000);
    expect(performance.now() - t0).toBeLessThan(1200); // SIGTERM, not the SIGKILL after 1.5 s
    await eventually('stubborn group gone', () => !isAlive(stubborn), 3000);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(1400);
    expect(isAlive(untracked)).toBe(true);
    await eventually('reaper exited', () => reaper.pid !== undefined && !isAlive(reaper.pid), 3000);
  });

  it('exits at once when nothing is listed', async () => {
    const reaper = startReaper(5000);
    reaper.close();
    await eventually('reaper exited', () => reaper.pid !== undefined && !isAlive(reaper.pid), 2000);
  });
});
