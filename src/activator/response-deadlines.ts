// The response-head deadlines of forwarded requests, without a timer per request.
//
// Every forwarded request waits at most its limit (the route's responseTimeoutMs, else the
// activator's) for the endpoint's response head. A setTimeout per forward cost, on the hot path,
// a Timeout object and a timer-list insert and removal per request — and, with one request in
// flight at a time, node's list for that duration emptied and was rebuilt on every request. Here
// requests with the same limit join one FIFO (an intrusive doubly linked list through the
// Exchange: no allocation); since each joins at `now`, deadlines grow from head to tail, so
//   due(ex) = joinedAt(ex) + limit        and the earliest due of a list is always its head's.
// One timer per list, armed for its head's due, is all there is: add is O(1) and touches no
// timer unless the list was idle; remove (the head arrived, or the forward ended) is O(1) and
// leaves the timer alone — when it fires it expires every head already due and re-arms for the
// next one, or stops when the list is empty. The timers are unref'd: a pending deadline never
// keeps the process alive by itself (the forward's own sockets do while it lasts).
// Exactness: a request expires at its due time or the first event-loop turn after it, as with
// setTimeout; a timer that fires early on the monotonic clock re-arms for what is left.
// Timers are the activator's Clock (its `after` with the list as the argument: no closure per
// arming), so tests move response deadlines on virtual time like the hold timers.
import type { Clock, Timer } from '../clock.ts';
import type { Exchange } from './exchange.ts';

/** One limit's FIFO of exchanges awaiting a response head, and its timer. */
export class DeadlineList {
  head: Exchange | undefined;
  tail: Exchange | undefined;
  timer: Timer | undefined;
  /** What the armed timer was armed for (monotonic ms). */
  timerDue = 0;

  constructor(
    readonly limitMs: number,
    /** Whose timer callback expires this list's heads (the timer carries only the list). */
    readonly owner: ResponseDeadlines,
  ) {}
}

export class ResponseDeadlines {
  private readonly lists = new Map<number, DeadlineList>();

  constructor(
    private readonly clock: Clock,
    /** Called for each exchange whose limit passed with no response head (it is already unlinked). */
    private readonly expired: (ex: Exchange, limitMs: number) => void,
  ) {}

  /** `ex` waits at most `limitMs` (> 0) from now for its response head. */
  add(ex: Exchange, limitMs: number): void {
    if (ex.headList !== undefined) this.remove(ex);
    let list = this.lists.get(limitMs);
    if (list === undefined) {
      list = new DeadlineList(limitMs, this);
      this.lists.set(limitMs, list);
    }
    ex.headDue = this.clock.now() + limitMs;
    ex.headList = list;
    ex.headPrev = list.tail;
    ex.headNext = undefined;
    if (list.tail === undefined) list.head = ex;
    else list.tail.headNext = ex;
    list.tail = ex;
    if (list.timer === undefined) this.arm(list, ex.headDue);
  }

  /** `ex` no longer waits (its head arrived, or the forward ended); a no-op when it does not. */
  remove(ex: Exchange): void {
    const list = ex.headList;
    if (list === undefined) return;
    if (ex.headPrev === undefined) list.head = ex.headNext;
    else ex.headPrev.headNext = ex.headNext;
    if (ex.headNext === undefined) list.tail = ex.headPrev;
    else ex.headNext.headPrev = ex.headPrev;
    ex.headList = undefined;
    ex.headPrev = undefined;
    ex.headNext = undefined;
  }

  /** Exchanges waiting now, over all limits (for tests and diagnostics). O(waiting). */
  waiting(): number {
    let n = 0;
    for (const list of this.lists.values()) for (let ex = list.head; ex !== undefined; ex = ex.headNext) n++;
    return n;
  }

  private arm(list: DeadlineList, due: number): void {
    list.timerDue = due;
    list.timer = this.clock.after(Math.max(1, Math.ceil(due - this.clock.now())), onListTimer, list);
    list.timer.unref();
  }

  /** @internal the timer's callback: expires the heads already due, re-arms for the next. */
  fire(list: DeadlineList): void {
    list.timer = undefined;
    const t = this.clock.now();
    for (let ex = list.head; ex !== undefined && ex.headDue <= t; ex = list.head) {
      this.remove(ex);
      this.expired(ex, list.limitMs);
    }
    const head = list.head;
    if (head === undefined) {
      if (this.lists.get(list.limitMs) === list) this.lists.delete(list.limitMs);
      return;
    }
    // An `expired` callback may have forwarded another request, arming the timer for its due:
    // later than the head's, which decides.
    if (list.timer !== undefined) {
      if (list.timerDue <= head.headDue) return;
      this.clock.cancel(list.timer);
    }
    this.arm(list, head.headDue);
  }
}

function onListTimer(list: DeadlineList): void {
  list.owner.fire(list);
}
