// The virtual clock: time moves only when a test says so, and `advance` fires the timers that
// fall due in due order (ties in arming order), letting promises and I/O callbacks settle
// between timers, so what a timer starts runs before the next one fires, as on the real clock.
// now() and wallNow() read the same virtual time.
import type { Clock, Timer } from '../src/clock.ts';

class VirtualTimer implements Timer {
  cancelled = false;
  constructor(
    public at: number,
    readonly seq: number,
    readonly fire: () => void,
    /** > 0 for `every`: re-armed this far after each firing. */
    readonly period: number,
  ) {}
  unref(): this {
    return this;
  }
}

/** Lets pending promise chains and one turn of I/O callbacks run (real sockets keep working). */
export const settle = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
  await new Promise((resolve) => setImmediate(resolve));
};

export class VirtualClock implements Clock {
  private timers: VirtualTimer[] = [];
  private seq = 0;
  /**
   * `firesTimers` false: time moves but timers never fire (tests that drive polls by hand).
   */
  constructor(
    public t = 0,
    private readonly firesTimers = true,
  ) {}

  now(): number {
    return this.t;
  }
  wallNow(): number {
    return this.t;
  }
  after<A = undefined>(ms: number, fn: (arg: A) => void, arg?: A): Timer {
    // Like node: a negative, NaN or 0 delay fires on the next advance, never in the past.
    const delay = Number.isFinite(ms) && ms > 0 ? ms : 0;
    return this.arm(new VirtualTimer(this.t + delay, this.seq++, () => fn(arg as A), 0));
  }
  every(ms: number, fn: () => void): Timer {
    const period = Number.isFinite(ms) && ms >= 1 ? ms : 1;
    return this.arm(new VirtualTimer(this.t + period, this.seq++, fn, period));
  }
  cancel(timer: Timer | undefined): void {
    if (!(timer instanceof VirtualTimer) || timer.cancelled) return;
    timer.cancelled = true;
    this.timers = this.timers.filter((x) => x !== timer);
  }

  /** Timers armed and not yet fired or cancelled. */
  get pending(): number {
    return this.timers.length;
  }

  /** Moves time forward by `ms`, firing due timers in order and settling between them. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await settle();
      const next = this.timers[0];
      if (next === undefined || next.at > end || !this.firesTimers) break;
      this.timers.shift();
      this.t = Math.max(this.t, next.at);
      if (next.period > 0) {
        next.at = this.t + next.period;
        this.insert(next);
      } else next.cancelled = true;
      next.fire();
    }
    this.t = end;
    await settle();
  }

  private arm(timer: VirtualTimer): VirtualTimer {
    this.insert(timer);
    return timer;
  }

  /** Keeps `timers` sorted by due time, then arming order. */
  private insert(timer: VirtualTimer): void {
    let i = this.timers.length;
    while (i > 0) {
      const prev = this.timers[i - 1] as VirtualTimer;
      if (prev.at < timer.at || (prev.at === timer.at && prev.seq < timer.seq)) break;
      i--;
    }
    this.timers.splice(i, 0, timer);
  }
}
