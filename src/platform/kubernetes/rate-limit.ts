// Paced status writes: client-go's token bucket (flowcontrol.NewTokenBucketRateLimiter(qps,
// burst), behind the `--kube-api-qps` / `--kube-api-burst` of KEDA and kube-controller-manager).
// A controller that starts over 50,000 ScaledObjects has a status write for each at once;
// unpaced they all go out together, every one holding its request, body and socket, and the API
// server's priority-and-fairness queues take the burst. Paced, they leave at `qps` a second after
// a first `burst`. Only status writes: they are queued and merged per object
// (Controller.writeStatus) and their patch is built when the token is granted
// (KubeScaledObjectWriter.patchStatus), so one waiting costs one pending change, while a scale write or an
// Event held behind 50,000 of them would miss its poll's deadline.

import type { Clock, Timer } from '../../clock.ts';

/**
 * Defaults: a first round writes about two statuses per object (reconcile's, then the first
 * poll's), so 50,000 objects take about 200 s (issue 15's < 5 min), 10,000 about 40 s (< 60 s);
 * at 200 a second the 10,000-object bench took 97 s. An API server slower than this paces them
 * itself (priority and fairness); the bucket bounds the burst, not the steady state.
 */
export const DEFAULT_STATUS_QPS = 500;
export const DEFAULT_STATUS_BURST = 1000;
/**
 * Paced writes in flight at once. An API server slower than `qps` would otherwise collect the
 * excess as requests in flight, each far larger than a patch waiting here: at 10,000 objects
 * that ran a 384 MB heap out of memory.
 */
export const DEFAULT_STATUS_IN_FLIGHT = 64;

/**
 * tokens(now) = min(burst, tokens(last) + (now − last) × qps / 1000); a write takes one token,
 * or waits, first come first served, until one has accrued and fewer than `maxInFlight` taken
 * ones are unfinished (`done()`).
 */
export class TokenBucket {
  private tokens: number;
  private last: number;
  private readonly waiting: (() => void)[] = [];
  private head = 0;
  private timer: Timer | undefined;
  private inFlight = 0;

  constructor(
    readonly qps: number,
    readonly burst: number,
    private readonly clock: Clock,
    readonly maxInFlight = DEFAULT_STATUS_IN_FLIGHT,
  ) {
    if (!(Number.isInteger(maxInFlight) && maxInFlight >= 1))
      throw new RangeError(`maxInFlight = ${maxInFlight}, must be an integer >= 1`);
    if (!(qps > 0)) throw new RangeError(`qps = ${qps}, must be > 0`);
    if (!(Number.isInteger(burst) && burst >= 1))
      throw new RangeError(`burst = ${burst}, must be an integer >= 1`);
    this.tokens = burst;
    this.last = clock.now();
  }

  /** Writes waiting for a token. */
  get queued(): number {
    return this.waiting.length - this.head;
  }

  /** undefined when a token was free (no promise, no timer); else resolves when one is. */
  take(): Promise<void> | undefined {
    this.refill();
    if (this.queued === 0 && this.tokens >= 1 && this.inFlight < this.maxInFlight) {
      this.tokens -= 1;
      this.inFlight++;
      return undefined;
    }
    const wait = new Promise<void>((resolve) => this.waiting.push(resolve));
    this.arm();
    return wait;
  }

  /** A taken write finished (answered or failed): its in-flight place goes to the next. */
  done(): void {
    this.inFlight--;
    // A timer pending means the queue waits for tokens, which done() does not add.
    if (this.queued > 0 && this.timer === undefined) this.release();
  }

  private refill(): void {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.qps) / 1000);
    this.last = now;
  }

  /** One timer for the whole queue, due when the next token has accrued. */
  private arm(): void {
    // Full in flight: done() releases the next.
    if (this.timer !== undefined || this.queued === 0 || this.inFlight >= this.maxInFlight) return;
    const ms = Math.max(0, ((1 - this.tokens) * 1000) / this.qps);
    this.timer = this.clock.after(Math.ceil(ms), () => this.release());
    this.timer.unref();
  }

  private release(): void {
    this.timer = undefined;
    this.refill();
    while (this.queued > 0 && this.tokens >= 1 && this.inFlight < this.maxInFlight) {
      this.tokens -= 1;
      this.inFlight++;
      const resolve = this.waiting[this.head];
      this.waiting[this.head++] = noop;
      resolve?.();
    }
    // Compact the consumed prefix now and then instead of shifting on every release.
    if (this.head > 1024 && this.head * 2 > this.waiting.length) {
      this.waiting.splice(0, this.head);
      this.head = 0;
    }
    this.arm();
  }
}

/**
 * Requests in flight at once over the client's one connection pool (watches aside). Over
 * HTTP/1.1 each request in flight holds a TLS connection of its own, and its buffers live
 * outside the V8 heap: at 50,000 objects a first round of unpaced writes (7,500 scale PATCHes
 * in 5 s) took the controller from 850 MB to over 3 GB of RSS with a 768 MB heap. client-go
 * multiplexes on HTTP/2, where the API server allows 250 streams per connection.
 */
export const DEFAULT_MAX_REQUESTS = 128;

/** At most `max` holders at once; the rest wait in FIFO order, holding only their turn. */
export class InFlightLimit {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  private head = 0;

  constructor(readonly max: number) {
    if (!(Number.isInteger(max) && max >= 1)) throw new RangeError(`max = ${max}, must be an integer >= 1`);
  }

  /** Holders waiting for a place. */
  get queued(): number {
    return this.waiting.length - this.head;
  }

  /** undefined when a place was free (taken now); else resolves when one is handed over. */
  take(): Promise<void> | undefined {
    if (this.active < this.max) {
      this.active++;
      return undefined;
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** A holder is done: its place goes to the longest waiting, or is freed. */
  done(): void {
    const next = this.waiting[this.head];
    if (next === undefined) {
      this.active--;
      return;
    }
    this.waiting[this.head++] = noop;
    if (this.head > 1024 && this.head * 2 > this.waiting.length) {
      this.waiting.splice(0, this.head);
      this.head = 0;
    }
    next();
  }
}

const noop = (): void => {};
