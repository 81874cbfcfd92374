// ResponseDeadlines: forwarded requests wait for their response head in one FIFO per limit with
// one timer per list (response-deadlines.ts). Time is driven by hand: the lists take a Clock whose
// now() reads `t` and whose timers are realClock's under vitest's fake timers, moved together a
// millisecond at a time, or apart (a timer firing before the clock reads its due time), which a
// VirtualClock, whose timers and now() are one, cannot show.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Arrivals, Exchange, type RouteState } from '../../src/activator/exchange.ts';
import { ResponseDeadlines } from '../../src/activator/response-deadlines.ts';
import { type Clock, realClock } from '../../src/clock.ts';

const arrivals = new Arrivals();

/** An exchange good enough for the lists: they only use its links and due time. */
const exchange = (): Exchange =>
  new Exchange(
    {} as ConstructorParameters<typeof Exchange>[0],
    undefined,
    {} as ConstructorParameters<typeof Exchange>[2],
    undefined,
    {} as RouteState,
    true,
    arrivals,
  );

let t = 0;
const clock: Clock = { ...realClock, now: () => t };
const advance = (ms: number): void => {
  for (let i = 0; i < ms; i++) {
    t++;
    vi.advanceTimersByTime(1);
  }
};

const setup = () => {
  const expired: { ex: Exchange; limitMs: number; at: number }[] = [];
  const deadlines = new ResponseDeadlines(clock, (ex, limitMs) => expired.push({ ex, limitMs, at: t }));
  return { deadlines, expired };
};

beforeEach(() => {
  t = 0;
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('ResponseDeadlines', () => {
  it('expires each exchange at its own due time, across limits, in due order', () => {
    const { deadlines, expired } = setup();
    const a = exchange();
    const b = exchange();
    const c = exchange();
    deadlines.add(a, 100); // due 100
    advance(10);
    deadlines.add(b, 50); // due 60
    advance(10);
    deadlines.add(c, 100); // due 120
    advance(39);
    expect(expired).toEqual([]);
    advance(1);
    expect(expired).toEqual([{ ex: b, limitMs: 50, at: 60 }]);
    advance(39);
    expect(expired).toHaveLength(1);
    advance(1);
    expect(expired[1]).toEqual({ ex: a, limitMs: 100, at: 100 });
    advance(20);
    expect(expired[2]).toEqual({ ex: c, limitMs: 100, at: 120 });
    expect(deadlines.waiting()).toBe(0);
  });

  it('never expires an exchange taken out (head, middle or tail of its list)', () => {
    const { deadlines, expired } = setup();
    const xs = Array.from({ length: 5 }, exchange);
    for (const ex of xs) {
      deadlines.add(ex, 100);
      advance(1);
    }
    deadlines.remove(xs[0] as Exchange);
    deadlines.remove(xs[2] as Exchange);
    deadlines.remove(xs[4] as Exchange);
    deadlines.remove(xs[4] as Exchange); // twice: a no-op
    expect(deadlines.waiting()).toBe(2);
    advance(200);
    expect(expired.map((e) => xs.indexOf(e.ex))).toEqual([1, 3]);
    expect(expired.map((e) => e.at)).toEqual([101, 103]);
  });

  it('keeps one timer per limit however many exchanges wait, and none once they are gone', () => {
    const { deadlines, expired } = setup();
    const xs = Array.from({ length: 1_000 }, exchange);
    for (const ex of xs) deadlines.add(ex, 300_000);
    for (const ex of xs.slice(0, 10)) deadlines.add(ex, 5_000);
    expect(vi.getTimerCount()).toBe(2);
    for (const ex of xs) deadlines.remove(ex);
    expect(deadlines.waiting()).toBe(0);
    // The timers are left to fire (no clearTimeout per request); finding nothing, they stop.
    advance(5_000);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(300_000);
    expect(vi.getTimerCount()).toBe(0);
    expect(expired).toEqual([]);
  });

  it('re-arms for the head that is left when an expiry forwards another exchange meanwhile', () => {
    const later = exchange();
    const first = exchange();
    const second = exchange();
    const expired: Exchange[] = [];
    const deadlines = new ResponseDeadlines(clock, (ex) => {
      expired.push(ex);
      // The 504 frees a slot and the hold queue forwards the next request at once.
      if (ex === first) deadlines.add(later, 100);
    });
    deadlines.add(first, 100); // due 100
    advance(50);
    deadlines.add(second, 100); // due 150
    advance(50);
    expect(expired).toEqual([first]);
    advance(50);
    expect(expired).toEqual([first, second]);
    advance(50);
    expect(expired).toEqual([first, second, later]);
  });

  it('re-arms when its timer fires before the head is due on the clock', () => {
    const { deadlines, expired } = setup();
    const ex = exchange();
    deadlines.add(ex, 100);
    // The timer fires at 100 while the clock reads 99 (libuv rounds its loop time down).
    t = 98;
    vi.advanceTimersByTime(100);
    expect(expired).toEqual([]);
    advance(2);
    expect(expired.map((e) => e.ex)).toEqual([ex]);
  });
});
