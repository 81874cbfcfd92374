// The descriptor budget's upstream ceiling (descriptors.ts): after an EMFILE/ENFILE the ceiling
// drops to what was in flight and comes back to maxUpstreamRequests 1 s later, on the activator's
// clock. Virtual time: the second is moved by hand, not waited for.
import { describe, expect, it } from 'vitest';
import { ConnectionBudget } from '../../src/activator/descriptors.ts';
import { VirtualClock } from '../clock.ts';

const budget = () => {
  const clock = new VirtualClock(0);
  let wakes = 0;
  const b = new ConnectionBudget(
    1024,
    { maxClientConnections: 700, maxUpstreamRequests: 200 },
    () => wakes++,
    clock,
  );
  return { b, clock, wakes: () => wakes };
};

describe('ConnectionBudget: the upstream ceiling after a shortage', () => {
  it('drops to the forwards in flight, and returns to maxUpstreamRequests after 1 s, waking the queues', async () => {
    const { b, clock, wakes } = budget();
    b.exhausted(37);
    expect(b.upstreamCeiling).toBe(37);
    expect(b.blocked).toBe(true);
    await clock.advance(999);
    expect(b.upstreamCeiling).toBe(37);
    expect(wakes()).toBe(0);
    await clock.advance(1);
    expect(b.upstreamCeiling).toBe(200);
    expect(b.blocked).toBe(false);
    expect(wakes()).toBe(1);
    expect(clock.pending).toBe(0);
  });

  it('a second shortage while lowered lowers it further on the same timer; close() cancels it', async () => {
    const { b, clock, wakes } = budget();
    b.exhausted(50);
    await clock.advance(500);
    b.exhausted(20);
    expect(b.upstreamCeiling).toBe(20);
    expect(b.upstreamShortages).toBe(2);
    expect(clock.pending).toBe(1);
    await clock.advance(500); // 1 s after the first shortage
    expect(b.upstreamCeiling).toBe(200);
    b.exhausted(10);
    b.close();
    await clock.advance(5_000);
    expect(b.upstreamCeiling).toBe(10);
    expect(wakes()).toBe(1);
  });
});
