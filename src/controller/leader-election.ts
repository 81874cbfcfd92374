// Leader election on a LeaseLock, following client-go's leaderelection package:
// - every `retryPeriod` a candidate tries to acquire: it may when the lease is free (no holder)
//   or expired, where "expired" is judged by OUR clock: `leaseDuration` after we last saw the
//   record change (client-go's observedTime), so clock skew between nodes does not matter;
// - the leader renews every `retryPeriod`; when it has not renewed for `renewDeadline` it stops
//   leading (and stops polling and writing) before anyone else may take over at `leaseDuration`;
// - on stop, the leader releases the lease (holder '' and 1 s duration) so a standby takes over
//   at its next retry instead of waiting out the lease.
// Defaults as client-go: 15 s lease, 10 s renew deadline, 2 s retry period.
import { type Clock, realClock, type Timer } from '../clock.ts';
import type { Logger } from '../logging.ts';
import type { LeaseLock, LeaseRecord, VersionedLease } from '../platform/ports.ts';

export interface LeaderElectionTimings {
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
}

export const DEFAULT_LEADER_ELECTION: Readonly<LeaderElectionTimings> = {
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
};

export interface LeaderElectorOptions extends Partial<LeaderElectionTimings> {
  readonly lock: LeaseLock;
  readonly identity: string;
  readonly log: Logger;
  readonly onStartedLeading: () => void | Promise<void>;
  readonly onStoppedLeading: () => void | Promise<void>;
  /** The retry sleep and the lease times (wallNow: lease records are read by other processes); default realClock. */
  readonly clock?: Clock;
  /** Default true: give the lease up on stop. */
  readonly releaseOnStop?: boolean;
}

export class LeaderElector {
  private readonly timings: LeaderElectionTimings;
  private readonly clock: Clock;
  private observed: VersionedLease | undefined;
  private observedAt = 0;
  private lastRenew = 0;
  private leading = false;
  private stopped = false;
  private timer: Timer | undefined;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;

  constructor(private readonly opts: LeaderElectorOptions) {
    this.timings = {
      leaseDurationMs: opts.leaseDurationMs ?? DEFAULT_LEADER_ELECTION.leaseDurationMs,
      renewDeadlineMs: opts.renewDeadlineMs ?? DEFAULT_LEADER_ELECTION.renewDeadlineMs,
      retryPeriodMs: opts.retryPeriodMs ?? DEFAULT_LEADER_ELECTION.retryPeriodMs,
    };
    if (!(this.timings.leaseDurationMs > this.timings.renewDeadlineMs)) {
      throw new Error('leaseDuration must be greater than renewDeadline');
    }
    if (!(this.timings.renewDeadlineMs > this.timings.retryPeriodMs)) {
      throw new Error('renewDeadline must be greater than retryPeriod');
    }
    this.clock = opts.clock ?? realClock;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    if (this.loop !== undefined) return;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.clock.cancel(this.timer);
    this.wake?.();
    await this.loop;
    if (this.leading) {
      this.leading = false;
      await this.opts.onStoppedLeading();
      if (this.opts.releaseOnStop ?? true) await this.release();
    }
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const ok = await this.tryAcquireOrRenew();
      if (this.stopped) break;
      const now = this.clock.wallNow();
      if (ok) {
        this.lastRenew = now;
        if (!this.leading) {
          this.leading = true;
          this.opts.log.info(
            { lease: this.opts.lock.description, identity: this.opts.identity },
            'became leader',
          );
          await this.opts.onStartedLeading();
        }
      } else if (
        this.leading &&
        (now - this.lastRenew >= this.timings.renewDeadlineMs || this.heldByOther())
      ) {
        this.leading = false;
        this.opts.log.warn(
          { lease: this.opts.lock.description },
          'lost leadership: could not renew the lease',
        );
        await this.opts.onStoppedLeading();
      }
      await this.sleep(this.timings.retryPeriodMs);
    }
  }

  private heldByOther(): boolean {
    const holder = this.observed?.record.holderIdentity;
    return holder !== undefined && holder !== '' && holder !== this.opts.identity;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      this.timer = this.clock.after(ms, resolve);
    });
  }

  /** client-go's tryAcquireOrRenew. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const now = this.clock.wallNow();
    const me = this.opts.identity;
    const durationSeconds = Math.ceil(this.timings.leaseDurationMs / 1000);
    const got = await this.opts.lock.get();
    if (!got.ok) {
      this.opts.log.warn({ err: got.error.message }, 'cannot read the lease');
      return false;
    }
    if (got.value === undefined) {
      const created = await this.opts.lock.create({
        holderIdentity: me,
        leaseDurationSeconds: durationSeconds,
        acquireTime: now,
        renewTime: now,
        leaseTransitions: 0,
      });
      if (created.ok) this.observe(created.value, now);
      return created.ok;
    }
    const current = got.value;
    if (this.observed?.version !== current.version) this.observe(current, now);
    const held = current.record.holderIdentity;
    const expiresAt = this.observedAt + current.record.leaseDurationSeconds * 1000;
    if (held !== '' && held !== me && expiresAt > now) return false;
    const record: LeaseRecord =
      held === me
        ? { ...current.record, leaseDurationSeconds: durationSeconds, renewTime: now }
        : {
            holderIdentity: me,
            leaseDurationSeconds: durationSeconds,
            acquireTime: now,
            renewTime: now,
            leaseTransitions: current.record.leaseTransitions + 1,
          };
    const updated = await this.opts.lock.update(record, current.version);
    if (!updated.ok) return false;
    this.observe(updated.value, now);
    return true;
  }

  private observe(lease: VersionedLease, now: number): void {
    this.observed = lease;
    this.observedAt = now;
  }

  private async release(): Promise<void> {
    const current = this.observed;
    if (current === undefined || current.record.holderIdentity !== this.opts.identity) return;
    const now = this.clock.wallNow();
    const res = await this.opts.lock.update(
      { ...current.record, holderIdentity: '', leaseDurationSeconds: 1, renewTime: now },
      current.version,
    );
    if (!res.ok) this.opts.log.warn({ err: res.error.message }, 'cannot release the lease');
    else this.opts.log.info({ lease: this.opts.lock.description }, 'released the lease');
  }
}
