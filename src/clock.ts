// The clock port: every room that reads the time or arms a timer takes a `Clock`, so a test
// moves time by hand (test/clock.ts's VirtualClock) instead of waiting for it, and production
// passes `realClock`. The shape of k8s.io/utils/clock (Now, AfterFunc, Tick), with two readings:
// - now(): monotonic ms (performance.now()), for durations, deadlines and backoff; it never
//   jumps when the wall clock is set.
// - wallNow(): ms since the epoch (Date.now()), for what is written down and compared across
//   processes: status times, cooldowns against lastActiveTime, report timestamps.
// Timers take an optional argument so a hot path can arm one without allocating a closure
// (node's setTimeout(fn, ms, arg) does the same); cancel() accepts both kinds of timer and
// undefined, like clearTimeout.

/** An armed timer or interval; `unref` lets the process exit while it is pending. */
export interface Timer {
  unref(): unknown;
}

export interface Clock {
  /** Monotonic milliseconds (origin arbitrary): for durations, never for timestamps. */
  now(): number;
  /** Milliseconds since the epoch: for timestamps others read. */
  wallNow(): number;
  /** Calls `fn(arg)` once, `ms` from now. */
  after<A = undefined>(ms: number, fn: (arg: A) => void, arg?: A): Timer;
  /** Calls `fn()` every `ms` until cancelled. */
  every(ms: number, fn: () => void): Timer;
  /** Cancels a timer from `after` or `every`; undefined and fired timers are ignored. */
  cancel(timer: Timer | undefined): void;
}

export const realClock: Readonly<Clock> = {
  now: () => performance.now(),
  wallNow: () => Date.now(),
  after: <A>(ms: number, fn: (arg: A) => void, arg?: A): Timer => setTimeout(fn, ms, arg as A),
  every: (ms, fn) => setInterval(fn, ms),
  // clearTimeout clears intervals too (node shares one timer type).
  cancel: (timer) => clearTimeout(timer as NodeJS.Timeout | undefined),
};
