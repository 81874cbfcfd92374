// The poll scheduler: one min-heap of next-due times and ONE timer, armed for the earliest due
// poll, instead of a timer per ScaledObject (10,000 objects at pollingInterval 1 would be
// 10,000 timers re-armed every second).
// - First poll: due = now + jitter, jitter uniform in [0, min(interval, 1 s)), so objects
//   seen together (a controller start) spread over a second instead of all polling at once.
// - Then fixed rate: due += interval; polls missed while one ran long (or the process was
//   busy) are skipped, never replayed in a burst: next due is the first slot after `now`.
// - At most `maxConcurrent` polls hold a slot at once; one object never has two polls in flight.
// - A slow source cannot hold a slot that others wait for: when a poll is due and every slot is
//   taken, the poll that has held its slot longest gives it up once it has held it for
//   `yieldAfterMs` (50 ms); it keeps running (its object still has one poll in flight, ended by
//   the poll's own deadline) but no longer counts. So a due poll waits at most about
//   yieldAfterMs for a slot, and while nothing is due the limit holds exactly.
// - Polls are started in batches from a timer or setImmediate, never from a finishing poll's
//   promise chain: a poll served from caches completes in microtasks, and starting the next
//   one there would starve I/O (watch events, status writes) whenever polls fall behind.
// - lateness = actual start − due is reported to `onStart` (metrics, the benchmark).
// - Due times are on the clock's monotonic `now()`: setting the wall clock moves no poll.

import { type Clock, realClock, type Timer } from '../clock.ts';

export interface SchedulerOptions {
  readonly maxConcurrent: number;
  readonly run: (key: string) => Promise<void>;
  readonly clock?: Clock;
  /** [0, 1): the jitter fraction; tests pass a constant. */
  readonly random?: () => number;
  readonly maxInitialJitterMs?: number;
  /** A slot held this long goes to a due poll; default SLOT_YIELD_MS. */
  readonly yieldAfterMs?: number;
  readonly onStart?: (key: string, latenessMs: number) => void;
}

/** See the header: a due poll waits for a slot at most about this long. */
export const SLOT_YIELD_MS = 50;

interface Entry {
  readonly key: string;
  intervalMs: number;
  due: number;
  /** Position in the heap; -1 while running or removed. */
  index: number;
  running: boolean;
  /** When the running poll started. */
  startedAt: number;
  removed: boolean;
  /** finish(this entry), made once: a poll's end allocates no closure. */
  readonly done: () => void;
}

export class PollScheduler {
  private readonly heap: Entry[] = [];
  private readonly entries = new Map<string, Entry>();
  private readonly clock: Clock;
  private readonly random: () => number;
  /** Polls running, with or without a slot. */
  private active = 0;
  /**
   * The polls holding a slot (at most maxConcurrent), in start order (a Set keeps insertion
   * order): the first one is the one that yields.
   */
  private readonly holders = new Set<Entry>();
  private readonly yieldAfterMs: number;
  private timer: Timer | undefined;
  private timerDue = Number.POSITIVE_INFINITY;
  private stopped = false;
  private drainPending = false;
  private readonly idleWaiters: (() => void)[] = [];

  constructor(private readonly opts: SchedulerOptions) {
    this.clock = opts.clock ?? realClock;
    this.random = opts.random ?? Math.random;
    this.yieldAfterMs = opts.yieldAfterMs ?? SLOT_YIELD_MS;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Polls holding a slot. */
  get running(): number {
    return this.holders.size;
  }

  /** Polls running, including those that gave up their slot. */
  get runningAll(): number {
    return this.active;
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  /** Starts polling `key` every `intervalMs`, or changes its interval (effective from the next poll). */
  schedule(key: string, intervalMs: number): void {
    if (this.stopped) return;
    const existing = this.entries.get(key);
    const now = this.clock.now();
    if (existing !== undefined) {
      if (existing.intervalMs === intervalMs) return;
      existing.intervalMs = intervalMs;
      // A shorter interval must not wait out the longer one already scheduled.
      if (existing.index >= 0 && existing.due > now + intervalMs) {
        existing.due = now + intervalMs;
        this.siftUp(existing.index);
        this.arm();
      }
      return;
    }
    const jitter = this.random() * Math.min(intervalMs, this.opts.maxInitialJitterMs ?? 1000);
    const entry: Entry = {
      key,
      intervalMs,
      due: now + jitter,
      index: -1,
      running: false,
      startedAt: 0,
      removed: false,
      done: () => this.finish(entry),
    };
    this.entries.set(key, entry);
    this.push(entry);
    this.arm();
  }

  /** Stops polling `key`; a poll in flight finishes but is not rescheduled. */
  unschedule(key: string): void {
    const entry = this.entries.get(key);
    if (entry === undefined) return;
    entry.removed = true;
    this.entries.delete(key);
    if (entry.index >= 0) this.removeAt(entry.index);
  }

  /** Due time of `key`'s next poll (tests, diagnostics). */
  dueOf(key: string): number | undefined {
    return this.entries.get(key)?.due;
  }

  /** Stops the timer; resolves when polls in flight have finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.clock.cancel(this.timer);
    this.timer = undefined;
    this.heap.length = 0;
    this.entries.clear();
    if (this.active > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private drain(): void {
    if (this.stopped) return;
    const now = this.clock.now();
    let started = 0;
    for (;;) {
      const top = this.heap[0];
      if (top === undefined || top.due > now) break;
      if (this.holders.size >= this.opts.maxConcurrent && !this.yieldSlot(now)) break;
      if (started >= this.opts.maxConcurrent) {
        this.requestDrain(); // a full batch: let I/O in before the next one
        return;
      }
      this.removeAt(0);
      this.start(top, now);
      started++;
    }
    this.arm();
  }

  /** Drains on the next turn of the event loop (after pending I/O callbacks). */
  private requestDrain(): void {
    if (this.drainPending || this.stopped) return;
    this.drainPending = true;
    setImmediate(() => {
      this.drainPending = false;
      this.drain();
    });
  }

  /** The oldest slot holder gives its slot up if it has held it for yieldAfterMs. */
  private yieldSlot(now: number): boolean {
    const oldest = this.oldestHolder();
    if (oldest === undefined || now - oldest.startedAt < this.yieldAfterMs) return false;
    this.holders.delete(oldest); // it runs on, without a slot
    return true;
  }

  /** The longest-running poll still holding a slot. */
  private oldestHolder(): Entry | undefined {
    for (const entry of this.holders) return entry;
    return undefined;
  }

  private start(entry: Entry, now: number): void {
    entry.running = true;
    entry.startedAt = now;
    this.holders.add(entry);
    this.active++;
    this.opts.onStart?.(entry.key, now - entry.due);
    let p: Promise<void>;
    try {
      p = this.opts.run(entry.key);
    } catch {
      p = Promise.resolve();
    }
    p.then(entry.done, entry.done);
  }

  private finish(entry: Entry): void {
    entry.running = false;
    this.active--;
    this.holders.delete(entry);
    if (!entry.removed && !this.stopped) {
      const now = this.clock.now();
      // next due = the first slot of the fixed-rate grid strictly after now
      const missed = Math.max(1, Math.floor((now - entry.due) / entry.intervalMs) + 1);
      entry.due += missed * entry.intervalMs;
      this.push(entry);
    }
    if (this.active === 0) for (const w of this.idleWaiters.splice(0)) w();
    this.requestDrain();
  }

  /** Keeps one timer armed for the earliest due entry. */
  private arm(): void {
    if (this.stopped) return;
    const top = this.heap[0];
    if (top === undefined) return;
    let at = top.due;
    if (this.holders.size >= this.opts.maxConcurrent) {
      // finish() drains when a slot frees; until then the oldest holder yields at this time
      const oldest = this.oldestHolder();
      if (oldest === undefined) return;
      at = Math.max(at, oldest.startedAt + this.yieldAfterMs);
    }
    if (this.timer !== undefined && this.timerDue <= at) return;
    this.clock.cancel(this.timer);
    this.timerDue = at;
    const delay = Math.max(0, at - this.clock.now());
    this.timer = this.clock.after(delay, () => {
      this.timer = undefined;
      this.timerDue = Number.POSITIVE_INFINITY;
      this.drain();
    });
  }

  // ---- binary min-heap on `due`, entries know their index for O(log n) removal ----

  private push(entry: Entry): void {
    entry.index = this.heap.length;
    this.heap.push(entry);
    this.siftUp(entry.index);
  }

  private removeAt(i: number): void {
    const entry = this.heap[i] as Entry;
    const last = this.heap.pop() as Entry;
    entry.index = -1;
    if (last !== entry) {
      this.heap[i] = last;
      last.index = i;
      this.siftDown(i);
      this.siftUp(last.index);
    }
  }

  private siftUp(i: number): void {
    const heap = this.heap;
    const entry = heap[i] as Entry;
    while (i > 0) {
      const parentIndex = (i - 1) >> 1;
      const parent = heap[parentIndex] as Entry;
      if (parent.due <= entry.due) break;
      heap[i] = parent;
      parent.index = i;
      i = parentIndex;
    }
    heap[i] = entry;
    entry.index = i;
  }

  private siftDown(i: number): void {
    const heap = this.heap;
    const n = heap.length;
    const entry = heap[i] as Entry;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      let child = left;
      if (right < n && (heap[right] as Entry).due < (heap[left] as Entry).due) child = right;
      const c = heap[child] as Entry;
      if (c.due >= entry.due) break;
      heap[i] = c;
      c.index = i;
      i = child;
    }
    heap[i] = entry;
    entry.index = i;
  }
}
