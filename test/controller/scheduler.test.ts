import { describe, expect, it } from 'vitest';
import { PollScheduler } from '../../src/controller/scheduler.ts';
import { settle, VirtualClock } from './fakes.ts';

const T0 = 1_000_000;

describe('PollScheduler', () => {
  it('polls in order of due time, each at its interval', async () => {
    const clock = new VirtualClock(T0);
    const runs: [string, number][] = [];
    const jitters = [0.5, 0.1, 0.9];
    const s = new PollScheduler({
      maxConcurrent: 10,
      clock,
      random: () => jitters.shift() ?? 0,
      run: async (key) => {
        runs.push([key, clock.now() - T0]);
      },
    });
    s.schedule('a', 1000); // first due T0 + 500
    s.schedule('b', 2000); // first due T0 + 100
    s.schedule('c', 1000); // first due T0 + 900
    await clock.advance(3000);
    expect(runs).toEqual([
      ['b', 100],
      ['a', 500],
      ['c', 900],
      ['a', 1500],
      ['c', 1900],
      ['b', 2100],
      ['a', 2500],
      ['c', 2900],
    ]);
    await s.stop();
  });

  it('never runs more than maxConcurrent polls at once, and one key never twice at once', async () => {
    const clock = new VirtualClock(T0);
    let running = 0;
    let peak = 0;
    const releases: (() => void)[] = [];
    const s = new PollScheduler({
      maxConcurrent: 3,
      clock,
      random: () => 0,
      run: async () => {
        running++;
        peak = Math.max(peak, running);
        await new Promise<void>((r) => releases.push(r));
        running--;
      },
    });
    for (let i = 0; i < 10; i++) s.schedule(`k${i}`, 1000);
    await clock.advance(0);
    expect(running).toBe(3);
    expect(s.running).toBe(3);
    // Release one at a time: the next due poll starts in its place.
    for (let i = 0; i < 7; i++) {
      releases.shift()?.();
      await settle();
      expect(running).toBe(3);
    }
    for (const r of releases.splice(0)) r();
    await settle();
    expect(peak).toBe(3);
    await s.stop();
  });

  it('a poll that has held its slot for yieldAfterMs gives it to a due poll and keeps running', async () => {
    const clock = new VirtualClock(T0);
    const started: [string, number][] = [];
    let releaseSlow: (() => void) | undefined;
    const s = new PollScheduler({
      maxConcurrent: 1,
      clock,
      random: () => 0,
      yieldAfterMs: 50,
      run: async (key) => {
        started.push([key, clock.now() - T0]);
        if (key === 'slow') await new Promise<void>((r) => (releaseSlow = r));
      },
    });
    s.schedule('slow', 1000);
    s.schedule('fast', 1000);
    await clock.advance(49);
    expect(started).toEqual([['slow', 0]]); // the one slot is held; fast waits
    await clock.advance(1);
    expect(started).toEqual([
      ['slow', 0],
      ['fast', 50],
    ]);
    expect([s.running, s.runningAll]).toEqual([0, 1]); // slow runs on without a slot
    await clock.advance(1000);
    expect(started.map(([key]) => key)).toEqual(['slow', 'fast', 'fast']); // never slow twice at once
    releaseSlow?.();
    await clock.advance(1000);
    // slow's next slot on its grid (2000), beside fast's
    expect(started.slice(3).sort()).toEqual([
      ['fast', 2000],
      ['slow', 2000],
    ]);
    releaseSlow?.();
    await s.stop();
  });

  it('reports lateness and skips slots missed while a poll ran long', async () => {
    const clock = new VirtualClock(T0);
    const late: number[] = [];
    let release: (() => void) | undefined;
    const starts: number[] = [];
    const s = new PollScheduler({
      maxConcurrent: 1,
      clock,
      random: () => 0,
      onStart: (_k, lateness) => late.push(lateness),
      run: async () => {
        starts.push(clock.now() - T0);
        if (starts.length === 1) await new Promise<void>((r) => (release = r));
      },
    });
    s.schedule('slow', 1000);
    await clock.advance(0);
    expect(starts).toEqual([0]);
    await clock.advance(3500); // the first poll takes 3.5 s
    release?.();
    await clock.advance(1000);
    // Slots at 1000, 2000, 3000 were missed; the next is 4000, not a burst of three.
    expect(starts).toEqual([0, 4000]);
    expect(late).toEqual([0, 0]);
    await s.stop();
  });

  it('unschedule stops a key; a shorter interval takes effect before the longer one would', async () => {
    const clock = new VirtualClock(T0);
    const runs: string[] = [];
    const s = new PollScheduler({
      maxConcurrent: 5,
      clock,
      random: () => 0,
      run: async (k) => {
        runs.push(`${k}@${clock.now() - T0}`);
      },
    });
    s.schedule('gone', 1000);
    s.schedule('slow', 30_000);
    await clock.advance(0);
    s.unschedule('gone');
    s.schedule('slow', 1000);
    await clock.advance(2000);
    expect(runs).toEqual(['gone@0', 'slow@0', 'slow@1000', 'slow@2000']);
    expect(s.has('gone')).toBe(false);
    await s.stop();
  });

  it('spreads first polls over at most one second', () => {
    const clock = new VirtualClock(T0);
    const s = new PollScheduler({ maxConcurrent: 1, clock, random: () => 0.999, run: async () => {} });
    s.schedule('long', 60_000);
    s.schedule('short', 200);
    expect((s.dueOf('long') ?? 0) - T0).toBeCloseTo(999, 0);
    expect((s.dueOf('short') ?? 0) - T0).toBeCloseTo(199.8, 1);
  });

  it('lets timers and I/O run while polls are behind (no starving microtask chain)', async () => {
    // Ticks counted only while the costly polls are under way: a scheduler that ran them as one
    // microtask chain lets none through (the count depends on ordering, not on the machine's load).
    let ticks = 0;
    let polls = 0;
    const interval = setInterval(() => {
      if (polls > 0 && polls < 200) ticks++;
    }, 5);
    const s = new PollScheduler({
      maxConcurrent: 10,
      random: () => 0,
      run: async () => {
        // The first 200 polls cost 1 ms of CPU each and resolve at once (bounded, so that a
        // starving scheduler fails this test instead of hanging it).
        if (polls++ >= 200) return;
        const end = Date.now() + 1;
        while (Date.now() < end) {}
      },
    });
    for (let i = 0; i < 500; i++) s.schedule(`k${i}`, 100); // 5,000 polls/s asked: always behind
    await new Promise((r) => setTimeout(r, 300));
    clearInterval(interval);
    await s.stop();
    expect(ticks).toBeGreaterThanOrEqual(2); // ~20 expected (a 10 ms batch between ticks); 0 when starved
  });
});
