import { describe, expect, it } from 'vitest';
import { WorkQueue } from '../../src/controller/work-queue.ts';
import { VirtualClock } from '../clock.ts';

describe('WorkQueue', () => {
  it('queues a key added many times while waiting once', async () => {
    const q = new WorkQueue();
    for (const k of ['a', 'b', 'a', 'a', 'c', 'b']) q.add(k);
    expect(q.length).toBe(3);
    expect([await q.get(), await q.get(), await q.get()]).toEqual(['a', 'b', 'c']);
    expect(q.length).toBe(0);
  });

  it('does not hand a key being processed to a second worker; re-queues it when done', async () => {
    const q = new WorkQueue();
    q.add('a');
    const first = await q.get();
    expect(first).toBe('a');
    q.add('a'); // changed while a worker holds it
    q.add('a');
    q.add('b');
    expect(await q.get()).toBe('b'); // not 'a'
    expect(q.length).toBe(0);
    q.done('a');
    expect(q.length).toBe(1);
    expect(await q.get()).toBe('a');
    q.done('a');
    expect(q.length).toBe(0);
  });

  it('wakes a waiting worker on add', async () => {
    const q = new WorkQueue();
    const waiting = q.get();
    q.add('x');
    q.add('x'); // the waiter holds it now: queued again only after done
    expect(await waiting).toBe('x');
    expect(q.length).toBe(0);
    q.done('x');
    expect(q.length).toBe(1);
  });

  it('re-adds after a delay, once per key', async () => {
    const clock = new VirtualClock();
    const q = new WorkQueue(clock);
    q.addAfter('a', 5);
    q.addAfter('a', 5);
    await clock.advance(4);
    expect(q.length).toBe(0);
    await clock.advance(1);
    expect(q.length).toBe(1);
    await clock.advance(20);
    expect(q.length).toBe(1);
  });

  it('returns undefined to waiters after shutdown', async () => {
    const q = new WorkQueue();
    const waiting = q.get();
    q.shutDown();
    expect(await waiting).toBeUndefined();
    q.add('late');
    expect(q.length).toBe(0);
  });
});
