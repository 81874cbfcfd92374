import { describe, expect, it } from 'vitest';
import { LeaderElector } from '../../src/controller/leader-election.ts';
import { silentLogger } from '../../src/logging.ts';
import { FakeLease } from './fakes.ts';

const elector = (
  lock: FakeLease,
  identity: string,
  now: () => number,
  extra: Partial<ConstructorParameters<typeof LeaderElector>[0]> = {},
) =>
  new LeaderElector({
    lock,
    identity,
    log: silentLogger,
    now,
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
    let t = 0;
    const a = elector(lock, 'a', () => t);
    const b = elector(lock, 'b', () => t);
    expect(await a.tryAcquireOrRenew()).toBe(true);
    expect(lock.lease?.record).toMatchObject({
      holderIdentity: 'a',
      leaseDurationSeconds: 4,
      leaseTransitions: 0,
    });
    expect(await b.tryAcquireOrRenew()).toBe(false);
    for (let i = 0; i < 5; i++) {
      t += 1000;
      expect(await a.tryAcquireOrRenew()).toBe(true); // renews
      expect(await b.tryAcquireOrRenew()).toBe(false); // sees the record move: not expired
    }
    // a dies: the record stops changing; b waits leaseDuration from when it last saw a change.
    t += 3000;
    expect(await b.tryAcquireOrRenew()).toBe(false);
    t += 1001;
    expect(await b.tryAcquireOrRenew()).toBe(true);
    expect(lock.lease?.record).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1, acquireTime: t });
    expect(await a.tryAcquireOrRenew()).toBe(false);
  });

  it('a released lease is taken at once', async () => {
    const lock = new FakeLease();
    let t = 0;
    const a = elector(lock, 'a', () => t);
    const b = elector(lock, 'b', () => t);
    a.start();
    await new Promise((r) => setTimeout(r, 20));
    expect(a.isLeader).toBe(true);
    await a.stop();
    expect(lock.lease?.record.holderIdentity).toBe('');
    t += 10;
    expect(await b.tryAcquireOrRenew()).toBe(true);
  });
});

describe('LeaderElector loop', () => {
  it('stops leading when it cannot renew within the renew deadline', async () => {
    const lock = new FakeLease();
    const log: string[] = [];
    const a = new LeaderElector({
      lock,
      identity: 'a',
      log: silentLogger,
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
    await new Promise((r) => setTimeout(r, 100));
    expect(log).toEqual(['started']);
    lock.down = true;
    await new Promise((r) => setTimeout(r, 400));
    expect(log).toEqual(['started', 'stopped']);
    expect(a.isLeader).toBe(false);
    lock.down = false;
    await new Promise((r) => setTimeout(r, 150));
    expect(log).toEqual(['started', 'stopped', 'started']);
    await a.stop();
  });

  it('refuses timings client-go would refuse', () => {
    expect(() => elector(new FakeLease(), 'a', Date.now, { renewDeadlineMs: 5000 })).toThrow(/leaseDuration/);
  });
});
