// The clock port: the real clock arms node's timers; the virtual clock fires due timers in due
// order (ties in arming order) only when a test advances it, re-arms intervals, and forgets
// cancelled timers.
import { describe, expect, it } from 'vitest';
import { realClock } from '../src/clock.ts';
import { VirtualClock } from './clock.ts';

describe('realClock', () => {
  it('fires after() with its argument, never a cancelled timer, and every() until cancelled', async () => {
    const fired: string[] = [];
    realClock.after(1, (what: string) => fired.push(what), 'after');
    const cancelled = realClock.after(1, () => fired.push('cancelled'));
    realClock.cancel(cancelled);
    realClock.cancel(undefined);
    let ticks = 0;
    const every = realClock.every(1, () => {
      ticks++;
      if (ticks === 3) realClock.cancel(every);
    });
    await new Promise<void>((resolve) => realClock.after(30, resolve));
    expect(fired).toEqual(['after']);
    expect(ticks).toBe(3);
    expect(realClock.wallNow()).toBeGreaterThan(Date.parse('2020-01-01'));
  });
});

describe('VirtualClock', () => {
  it('fires nothing until advanced, then due timers in due order, ties in arming order', async () => {
    const clock = new VirtualClock(1000);
    const fired: string[] = [];
    clock.after(30, () => fired.push(`c@${clock.now()}`));
    clock.after(10, () => fired.push(`a@${clock.now()}`));
    clock.after(10, () => fired.push(`b@${clock.now()}`));
    clock.after(-5, () => fired.push(`now@${clock.now()}`));
    expect(fired).toEqual([]);
    await clock.advance(9);
    expect(fired).toEqual(['now@1000']);
    await clock.advance(21);
    expect(fired).toEqual(['now@1000', 'a@1010', 'b@1010', 'c@1030']);
    expect(clock.now()).toBe(1030);
    expect(clock.wallNow()).toBe(1030);
    expect(clock.pending).toBe(0);
  });

  it('fires a timer armed by a firing timer within the same advance when it falls due', async () => {
    const clock = new VirtualClock();
    const fired: number[] = [];
    clock.after(10, () => clock.after(5, () => fired.push(clock.now())));
    await clock.advance(14);
    expect(fired).toEqual([]);
    await clock.advance(1);
    expect(fired).toEqual([15]);
  });

  it('re-arms every() each period and forgets cancelled timers', async () => {
    const clock = new VirtualClock();
    const ticks: number[] = [];
    const every = clock.every(10, () => ticks.push(clock.now()));
    const gone = clock.after(5, () => ticks.push(-1));
    clock.cancel(gone);
    await clock.advance(35);
    expect(ticks).toEqual([10, 20, 30]);
    clock.cancel(every);
    await clock.advance(100);
    expect(ticks).toEqual([10, 20, 30]);
    expect(clock.pending).toBe(0);
  });

  it('moves time without firing anything when told not to fire timers', async () => {
    const clock = new VirtualClock(0, false);
    let fired = false;
    clock.after(1, () => {
      fired = true;
    });
    await clock.advance(100);
    expect(fired).toBe(false);
    expect(clock.now()).toBe(100);
  });
});
