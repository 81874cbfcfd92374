// The activator in the controller's process (`ebb activator`, src/cli/activator-with-controller.ts) with real
// traffic: the real API server, real EndpointSlices published by the netns test kubelet for
// backends on 10.213.0.x, requests sent to the activator on 127.0.0.1. A request for a
// Deployment at 0 is held, the activator pokes the controller, the controller scales 0 → 1 with
// one write (pollingInterval is 30 s in the cold-start cases: only the poke can be that fast),
// the kubelet starts a backend and publishes it ready, the held requests are answered.
import { request as httpRequest } from 'node:http';
import { describe, expect, it, vi } from 'vitest';
import type { RunningActivator } from '../../src/cli/activator-with-controller.ts';
import { useActivatorEnv, WAIT } from './activator-setup.ts';

let running: RunningActivator;
/** Every scale write the controller made, as `name=replicas`, in order. */
const scaleWrites: string[] = [];
const writesTo = (name: string): string[] => scaleWrites.filter((w) => w.startsWith(`${name}=`));

const { apps, ns, createApp, createHttpScaledObject } = useActivatorEnv('activator', {
  onStarted(r) {
    running = r;
    const target = r.controller.platform.scaleTarget;
    const scale = target.scale.bind(target);
    target.scale = (ref, replicas) => {
      scaleWrites.push(`${ref.name}=${replicas}`);
      return scale(ref, replicas);
    };
  },
});

/** spec.replicas and metadata.generation: every scale write bumps the generation by one. */
async function deployment(name: string): Promise<{ replicas: number; generation: number }> {
  const d = await apps.readNamespacedDeployment({ name, namespace: ns.name });
  return { replicas: d.spec?.replicas ?? -1, generation: d.metadata?.generation ?? -1 };
}

interface Answer {
  readonly status: number;
  readonly body: string;
}

/** One request through the activator with `Host: <host>`; resolves with status and body. */
const send = (host: string, path = '/', timeoutMs = 30_000): Promise<Answer> =>
  new Promise((resolve, reject) => {
    const url = new URL(path, running.url);
    const req = httpRequest(url, { headers: { host }, agent: false, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the activator in the controller process', () => {
  it('holds a request for a Deployment at 0, wakes it with one scale write, and answers 200', async () => {
    await createApp('one');
    await createHttpScaledObject('one');
    const before = await deployment('one');
    expect(before.replicas).toBe(0);

    const started = performance.now();
    const answer = await send('one.example.test', '/hello');
    const tookMs = performance.now() - started;
    expect(answer.status, answer.body).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ name: 'one-0', path: '/hello' });
    // Far below pollingInterval (30 s): the poke, not the schedule, woke it.
    expect(tookMs).toBeLessThan(15_000);

    await sleep(1_500); // later pokes and polls must not write again
    expect(await deployment('one')).toEqual({ replicas: 1, generation: before.generation + 1 });
    expect(writesTo('one')).toEqual(['one=1']);
  });

  it('holds ~200 concurrent requests through one cold start and answers every one 200', async () => {
    await createApp('many');
    // 200 requests at 1000 per replica: one replica is right, so any second write is a bug.
    await createHttpScaledObject('many', { targetConcurrency: '1000' });
    const before = await deployment('many');

    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) => send('many.example.test', `/r/${i}?delayMs=20`)),
    );
    const byStatus = new Map<number, number>();
    for (const a of answers) byStatus.set(a.status, (byStatus.get(a.status) ?? 0) + 1);
    expect(Object.fromEntries(byStatus)).toEqual({ 200: 200 });
    expect(new Set(answers.map((a) => (JSON.parse(a.body) as { path: string }).path)).size).toBe(200);

    await sleep(1_500);
    expect(await deployment('many')).toEqual({ replicas: 1, generation: before.generation + 1 });
    expect(writesTo('many')).toEqual(['many=1']); // 8 pokes (held 1, 2, 4, … 128), one write
    const route = running.activator.stats().routes.find((r) => r.route === `${ns.name}/many`);
    expect(route).toMatchObject({ inFlight: 0, held: 0, requests: 200 });
  });

  it('answers 504 naming the route and the limit when no endpoint becomes ready within holdTimeout', async () => {
    await createApp('stuck', false); // no kubelet: scaled up, but nothing ever runs
    await createHttpScaledObject('stuck', { holdTimeout: '1s' });
    const answer = await send('stuck.example.test');
    expect(answer.status).toBe(504);
    expect(answer.body).toContain(`${ns.name}/stuck`);
    expect(answer.body).toContain('holdTimeout 1000 ms');
    // The poke still woke the target.
    await vi.waitFor(async () => expect((await deployment('stuck')).replicas).toBe(1), WAIT);
  });

  it('scales to zero after the cooldown without traffic, and wakes again on the next request', async () => {
    const kubelet = await createApp('idle');
    if (kubelet === undefined) throw new Error('no kubelet');
    await createHttpScaledObject('idle', {}, { pollingInterval: 1, cooldownPeriod: 2 });

    expect((await send('idle.example.test')).status).toBe(200);
    expect((await deployment('idle')).replicas).toBe(1);

    // No traffic: inactive for the cooldown → 0, the backend stops, its endpoint leaves the slice.
    await vi.waitFor(async () => expect((await deployment('idle')).replicas).toBe(0), WAIT);
    await kubelet.settled(0);
    await vi.waitFor(
      () => expect(running.endpoints.ready({ namespace: ns.name, name: 'idle', port: 80 })).toEqual([]),
      WAIT,
    );
    const asleep = await deployment('idle');

    const again = await send('idle.example.test', '/again');
    expect(again.status, again.body).toBe(200);
    expect(JSON.parse(again.body)).toMatchObject({ name: 'idle-0', path: '/again' });
    expect(await deployment('idle')).toEqual({ replicas: 1, generation: asleep.generation + 1 });
    expect(writesTo('idle')).toEqual(['idle=1', 'idle=0', 'idle=1']);
  });
});
