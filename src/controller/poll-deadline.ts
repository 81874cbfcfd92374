// One poll's deadline (`--poll-timeout`): one timer and one AbortSignal for every call the poll
// makes to the world. A call raced against it resolves to its result, or to EXPIRED when the
// deadline passes first; the call itself goes on unwatched, kept in the loop until it settles
// so that the next poll does not repeat it.
import { ScaleTargetTimeout } from '../api/reasons.ts';
import type { Clock, Timer } from '../clock.ts';
import type { PlatformResult } from '../platform/ports.ts';
import type { Loop } from './tracked.ts';

/** What a call resolves to when the poll's deadline passed first. */
export const EXPIRED: unique symbol = Symbol('expired');

/** One poll's deadline: one timer and one abort signal for every call the poll makes. */
export class PollDeadline {
  private readonly abort = new AbortController();
  private readonly timer: Timer;
  private readonly passed: Promise<typeof EXPIRED>;

  /** `clock` arms the deadline and times the calls raced against it (readTriggers' latencies). */
  constructor(
    readonly ms: number,
    readonly clock: Clock,
  ) {
    let expire: (value: typeof EXPIRED) => void = () => {};
    this.passed = new Promise((resolve) => {
      expire = resolve;
    });
    this.timer = clock.after(ms, () => {
      this.abort.abort();
      expire(EXPIRED);
    });
  }

  get signal(): AbortSignal {
    return this.abort.signal;
  }

  /** `call`'s result, or EXPIRED when the deadline passes first (the call goes on unwatched). */
  within<T>(call: Promise<T>): Promise<T | typeof EXPIRED> {
    return Promise.race([call, this.passed]);
  }

  clear(): void {
    this.clock.cancel(this.timer);
  }
}

/** Keeps `call` in `loop[field]` until it settles. */
export const pendingUntilSettled = (
  loop: Loop,
  field: 'pendingRead' | 'pendingScale',
  call: Promise<PlatformResult<number>>,
): void => {
  loop[field] = call;
  const settled = () => {
    if (loop[field] === call) loop[field] = undefined;
  };
  call.then(settled, settled);
};

/** A call that did not answer before the deadline, as the platform's error. */
export const timedOut = (what: string, ms: number): PlatformResult<never> => ({
  ok: false,
  error: { reason: ScaleTargetTimeout, message: `${what}: no answer within ${ms} ms` },
});
