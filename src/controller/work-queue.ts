// A de-duplicating work queue with client-go's workqueue semantics:
// - a key added while it waits is queued once (`dirty`);
// - a key added while a worker holds it is not handed to a second worker; it is queued again
//   when the first worker calls `done` (`processing`), so a change is never lost and one key
//   is never reconciled twice at the same time;
// - `addAfter` re-adds a key after a delay (retries with backoff), one timer per key, on the
//   clock it is given (tests move it by hand).

import { type Clock, realClock, type Timer } from '../clock.ts';

export class WorkQueue {
  private readonly queue: string[] = [];
  private head = 0;
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly delayed = new Map<string, Timer>();
  private readonly waiters: ((key: string | undefined) => void)[] = [];
  private shuttingDown = false;

  constructor(private readonly clock: Clock = realClock) {}

  get length(): number {
    return this.queue.length - this.head;
  }

  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    const waiter = this.waiters.shift();
    if (waiter !== undefined) {
      this.dirty.delete(key);
      this.processing.add(key);
      waiter(key);
      return;
    }
    this.queue.push(key);
  }

  /** Adds `key` after `delayMs`; a later call for the same key keeps the earlier timer. */
  addAfter(key: string, delayMs: number): void {
    if (this.shuttingDown || this.delayed.has(key)) return;
    const timer = this.clock.after(delayMs, () => {
      this.delayed.delete(key);
      this.add(key);
    });
    timer.unref();
    this.delayed.set(key, timer);
  }

  /** The next key, or undefined once the queue is shut down. Call `done(key)` when finished. */
  get(): Promise<string | undefined> {
    const key = this.take();
    if (key !== undefined) return Promise.resolve(key);
    if (this.shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.has(key)) {
      this.dirty.delete(key);
      this.add(key);
    }
  }

  shutDown(): void {
    this.shuttingDown = true;
    for (const t of this.delayed.values()) this.clock.cancel(t);
    this.delayed.clear();
    for (const w of this.waiters.splice(0)) w(undefined);
  }

  private take(): string | undefined {
    if (this.head >= this.queue.length) return undefined;
    const key = this.queue[this.head++] as string;
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    this.dirty.delete(key);
    this.processing.add(key);
    return key;
  }
}
