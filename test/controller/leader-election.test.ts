import { describe, expect, it } from 'vitest';
import { LeaderElector } from '../../src/controller/leader-election.ts';
import { silentLogger } from '../../src/logging.ts';
import { VirtualClock } from '../clock.ts';
import { FakeLease } from './fakes.ts';

const elector = (
  lock: FakeLease,
  identity: string,
  clock: VirtualClock,
  extra: Partial<ConstructorParameters<typeof LeaderElector>[0]> = {},
) =>
  new LeaderElector({
    lock,
    identity,
    log: silentLogger,
    clock,
    leaseDurationMs: 4000,
    renewDeadlineMs: 3000,
    retryPeriodMs: 1000,
    onStartedLeading: () => {},
    onStoppedLeading: () => {},
    ...extra,
  });

describe('LeaderElector.tryAcquireOrRenew', () => {
  it('one holder at a time; a standby takes over only after the lease expired by its own clock', async () => {
    const lock = new FakeLease();
    const clock = new VirtualClock(0);
    const a = elector(lock, 'a', clock);
    const b = elector(lock, 'b', clock);
    expect(await a.tryAcquireOrRenew()).toBe(true);
    expect(lock.lease?.record).toMatchObject({
      holderIdentity: 'a',
      leaseDurationSeconds: 4,
      leaseTransitions: 0,
    });
    expect(await b.tryAcquireOrRenew()).toBe(false);
    for (let i = 0; i < 5; i++) {
      clock.t += 1000;
      expect(await a.tryAcquireOrRenew()).toBe(true); // renews
      expect(await b.tryAcquireOrRenew()).toBe(false); // sees the record move: not expired
    }
    // a dies: the record stops changing; b waits leaseDuration from when it last saw a change.
    clock.t += 3000;
    expect(await b.tryAcquireOrRenew()).toBe(false);
    clock.t += 1001;
    expect(await b.tryAcquireOrRenew()).toBe(true);
    expect(lock.lease?.record).toMatchObject({
      holderIdentity: 'b',
      leaseTransitions: 1,
      acquireTime: clock.t,
    });
    expect(await a.tryAcquireOrRenew()).toBe(false);
  });

  it('a released lease is taken at once', async () => {
    const lock = new FakeLease();
    const clock = new VirtualClock(0);
    const a = elector(lock, 'a', clock);
    const b = elector(lock, 'b', clock);
    a.start();
    await clock.advance(0);
    expect(a.isLeader).toBe(true);
    await a.stop();
    expect(lock.lease?.record.holderIdentity).toBe('');
    clock.t += 10;
    expect(await b.tryAcquireOrRenew()).toBe(true);
  });
});

describe('LeaderElector loop', () => {
  it('stops leading when it cannot renew within the renew deadline', async () => {
    const lock = new FakeLease();
    const log: string[] = [];
    const clock = new VirtualClock(0); // the retry period and the renew deadline run on it
    const a = new LeaderElector({
      lock,
      identity: 'a',
      log: silentLogger,
      clock,
      leaseDurationMs: 300,
      renewDeadlineMs: 200,
      retryPeriodMs: 50,
      onStartedLeading: () => {
        log.push('started');
      },
      onStoppedLeading: () => {
        log.push('stopped');
      },
    });
    a.start();
    await clock.advance(100);
    expect(log).toEqual(['started']);
    lock.down = true; // last renewed at 100: still leading until 100 + renewDeadline
    await clock.advance(199);
    expect(log).toEqual(['started']);
    await clock.advance(1);
    expect(log).toEqual(['started', 'stopped']);
    expect(a.isLeader).toBe(false);
    lock.down = false;
    await clock.advance(50);
    expect(log).toEqual(['started', 'stopped', 'started']);
    await a.stop();
  });

  it('refuses timings client-go would refuse', () => {
    expect(() => elector(new FakeLease(), 'a', new VirtualClock(), { renewDeadlineMs: 5000 })).toThrow(
      /leaseDuration/,
    );
  });
});
