// Reconcile retries back off: each retry an object's reconcile asks for in a row doubles the
// delay (100 ms × 2^failures, at most 30 s); a reconcile that asks for none starts it over.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WorkQueue } from '../../src/controller/work-queue.ts';
import { harness, reading, ScriptedScaler, scaledObject } from './fakes.ts';

const TARGET = 'Deployment/ns/app';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('reconcile retry backoff', () => {
  it('doubles the delay while reconcile keeps failing, and starts over after a success', async () => {
    const delays: number[] = [];
    const addAfter = WorkQueue.prototype.addAfter;
    vi.spyOn(WorkQueue.prototype, 'addAfter').mockImplementation(function (this: WorkQueue, key, ms) {
      delays.push(ms);
      addAfter.call(this, key, ms);
    });
    const h = harness({
      script: (resolved) => new ScriptedScaler(resolved.metric, () => reading(0)),
      firesTimers: true, // the retries' timers fire on the virtual clock
    });
    h.target.set(TARGET, 2);
    // paused-replicas reads the target on every reconcile; a failing read asks for a retry.
    h.target.failReads = 'the API server is unavailable';
    h.source.put(scaledObject('app', { annotations: { 'autoscaling.ebb.dev/paused-replicas': '1' } }));
    await h.controller.start();
    try {
      // Each retry fires exactly when its delay has passed on the virtual clock.
      await h.clock.advance(0);
      expect(delays).toEqual([200]);
      await h.clock.advance(199);
      expect(delays).toEqual([200]);
      await h.clock.advance(1);
      expect(delays).toEqual([200, 400]);
      await h.clock.advance(400);
      expect(delays.slice(0, 3)).toEqual([200, 400, 800]);

      h.target.failReads = undefined; // the next retry succeeds: holds 1 replica, asks for none
      await h.clock.advance(800);
      expect(h.target.get(TARGET)).toBe(1);
      const afterSuccess = delays.length;
      h.target.failReads = 'the API server is unavailable again';
      h.source.put(
        scaledObject('app', { generation: 2, annotations: { 'autoscaling.ebb.dev/paused-replicas': '3' } }),
      );
      await h.clock.advance(0);
      expect(delays.length).toBeGreaterThan(afterSuccess);
      expect(delays[afterSuccess]).toBe(200);
    } finally {
      await h.controller.stop();
    }
  });
});
