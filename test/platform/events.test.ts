import { describe, expect, it } from 'vitest';
import { ScalerFailed } from '../../src/api/reasons.ts';
import { realClock } from '../../src/clock.ts';
import { silentLogger } from '../../src/logging.ts';
import type { KubeClient } from '../../src/platform/kubernetes/client.ts';
import {
  KubeEventRecorder,
  MAX_EVENT_WRITES,
  MAX_QUEUED_EVENT_WRITES,
} from '../../src/platform/kubernetes/events.ts';
import type { EventRegarding } from '../../src/platform/ports.ts';

interface Call {
  verb: string;
  path: string;
  body: Record<string, unknown>;
}

const fakeClient = () => {
  const calls: Call[] = [];
  const client = {
    clock: realClock,
    async request(verb: string, path: string, opts: { body?: unknown } = {}) {
      calls.push({ verb, path, body: opts.body as Record<string, unknown> });
      const body = opts.body as { metadata?: { name?: string } } | undefined;
      return { ok: true, value: { metadata: { name: body?.metadata?.name ?? 'x' } } };
    },
  } as unknown as KubeClient;
  return { client, calls };
};

const so: EventRegarding = {
  apiVersion: 'autoscaling.ebb.dev/v1alpha1',
  kind: 'ScaledObject',
  namespace: 'ns',
  name: 'app',
  uid: 'u1',
};

describe('KubeEventRecorder', () => {
  it('creates an events.k8s.io/v1 Event with reportingController ebb, regarding the ScaledObject', async () => {
    const { client, calls } = fakeClient();
    const rec = new KubeEventRecorder(client, {
      instance: 'pod-1',
      log: silentLogger,
      now: () => 1_700_000_000_000,
    });
    rec.record(so, { type: 'Warning', reason: 'ScalerFailed', action: 'Poll', note: 'trigger "a" failed' });
    await rec.close();
    expect(calls).toHaveLength(1);
    expect(calls[0]?.verb).toBe('POST');
    expect(calls[0]?.path).toBe('/apis/events.k8s.io/v1/namespaces/ns/events');
    expect(calls[0]?.body).toMatchObject({
      reportingController: 'ebb',
      reportingInstance: 'pod-1',
      type: 'Warning',
      reason: 'ScalerFailed',
      action: 'Poll',
      note: 'trigger "a" failed',
      eventTime: '2023-11-14T22:13:20.000000Z',
      regarding: { kind: 'ScaledObject', name: 'app', namespace: 'ns', uid: 'u1' },
    });
  });

  it('turns repeats within the window into a series count, written at 2 and then on refresh', async () => {
    const { client, calls } = fakeClient();
    let now = 1_000_000;
    const rec = new KubeEventRecorder(client, {
      instance: 'i',
      log: silentLogger,
      now: () => now,
      refreshMs: 3_600_000,
    });
    const ev = { type: 'Warning' as const, reason: ScalerFailed, action: 'Poll', note: 'same' };
    rec.record(so, ev);
    await rec.flush();
    for (let i = 0; i < 10; i++) {
      now += 1000;
      rec.record(so, ev);
    }
    // POST, then PATCH count 2 at once; the other 8 repeats only in memory until a refresh.
    await new Promise((r) => setImmediate(r));
    expect(calls.map((c) => c.verb)).toEqual(['POST', 'PATCH']);
    expect(calls[1]?.body).toMatchObject({ series: { count: 2 } });
    await rec.flush();
    expect(calls.map((c) => c.verb)).toEqual(['POST', 'PATCH', 'PATCH']);
    expect(calls[2]?.body).toMatchObject({ series: { count: 11 } });
    await rec.flush(); // nothing new: no write
    expect(calls).toHaveLength(3);

    rec.record(so, { ...ev, note: 'different' });
    now += 7 * 60_000; // past the 6 min window: a new Event
    rec.record(so, ev);
    await rec.close();
    expect(calls.map((c) => c.verb)).toEqual(['POST', 'PATCH', 'PATCH', 'POST', 'POST']);
  });

  it(`keeps at most ${MAX_EVENT_WRITES} writes in flight, queues ${MAX_QUEUED_EVENT_WRITES} and drops the rest`, async () => {
    // An API server that answers only when told: the writes in flight are those not answered.
    let inFlight = 0;
    let posts = 0;
    const answers: (() => void)[] = [];
    const client = {
      clock: realClock,
      async request(_verb: string, _path: string, opts: { body?: unknown } = {}) {
        posts++;
        inFlight++;
        await new Promise<void>((resolve) => answers.push(resolve));
        inFlight--;
        const body = opts.body as { metadata?: { name?: string } } | undefined;
        return { ok: true, value: { metadata: { name: body?.metadata?.name ?? 'x' } } };
      },
    } as unknown as KubeClient;
    const rec = new KubeEventRecorder(client, { instance: 'pod-1', log: silentLogger });
    const total = MAX_EVENT_WRITES + MAX_QUEUED_EVENT_WRITES + 50;
    for (let i = 0; i < total; i++)
      rec.record(
        { ...so, name: `app-${i}`, uid: `u${i}` },
        { type: 'Normal', reason: ScalerFailed, action: 'Scale', note: 'n' },
      );
    expect(inFlight).toBe(MAX_EVENT_WRITES);
    expect(rec.dropped).toBe(50);
    const closed = rec.close();
    while (answers.length > 0) {
      for (const answer of answers.splice(0)) answer();
      await new Promise((resolve) => setImmediate(resolve));
      expect(inFlight).toBeLessThanOrEqual(MAX_EVENT_WRITES);
    }
    await closed;
    expect(posts).toBe(MAX_EVENT_WRITES + MAX_QUEUED_EVENT_WRITES);
  });
});
