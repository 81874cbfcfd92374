// Routing on headers (issue 14, scope 4) through the real path: `ebb activator` (controller +
// activator in one process), the real API server, real EndpointSlices published by the netns
// test kubelet. Two ScaledObjects share one host, the canary's with `headers: x-canary=true`:
// each request wakes and reaches only its own target. A third object claiming the same host and
// the same header match is Ready=False RouteConflict naming the headers, as for host and path.
import { describe, expect, it, vi } from 'vitest';
import type { RunningActivator } from '../../src/cli/activator-with-controller.ts';
import { conditionOf, createScaledObject, readScaledObject } from '../controller/cluster.ts';
import { type Answer, ClientRequests, useActivatorEnv, WAIT } from './activator-setup.ts';

let running: RunningActivator;
const requests = new ClientRequests();

const { kc, ns, createApp, createHttpScaledObject } = useActivatorEnv('activator-headers', {
  onStarted(r) {
    running = r;
  },
  beforeStop() {
    requests.destroyAll();
  },
});

const HOST = 'shop.example.test';

const send = (headers: Record<string, string> = {}): Promise<Answer> =>
  requests.start(running.url, HOST, { path: '/p', timeoutMs: 60_000, headers }).answer;

/** The replica that answered (the netns backend names itself, and echoes what it received). */
const answered = (a: Answer): { name: string; headers: Record<string, string> } =>
  JSON.parse(a.body) as { name: string; headers: Record<string, string> };

describe('header routing with real EndpointSlices', () => {
  it('sends x-canary: true to the canary and everything else to the main target, each woken on its own', async () => {
    await createApp('main');
    await createApp('canary');
    await createHttpScaledObject('main', { hosts: HOST });
    await createHttpScaledObject('canary', { hosts: HOST, headers: 'X-Canary=true' });

    const canary = await send({ 'x-canary': 'true' });
    expect(canary.status).toBe(200);
    expect(answered(canary).name).toMatch(/^canary-/);
    expect(answered(canary).headers['x-canary']).toBe('true');
    // Only the canary was woken by it.
    expect(
      (await running.activator.stats()).routes.find((r) => r.route === `${ns.name}/main`)?.requests,
    ).toBe(0);

    const main = await send({ 'x-canary': 'false' });
    expect(main.status).toBe(200);
    expect(answered(main).name).toMatch(/^main-/);
    expect(answered(await send()).name).toMatch(/^main-/);
  });

  it('a third object with the same host and header match is refused with RouteConflict naming the headers', async () => {
    await createScaledObject(kc, ns.name, 'zz-canary', {
      spec: { pollingInterval: 30, cooldownPeriod: 300 },
      triggers: [
        { type: 'http', metadata: { hosts: HOST, headers: 'x-canary=true', service: 'canary', port: '80' } },
      ],
    });
    await vi.waitFor(async () => {
      expect(conditionOf(await readScaledObject(kc, ns.name, 'zz-canary'), 'Ready')).toMatchObject({
        status: 'False',
        reason: 'RouteConflict',
        message: expect.stringContaining(
          `host ${HOST} path prefix / headers x-canary=true is also claimed by ScaledObject ${ns.name}/canary`,
        ),
      });
    }, WAIT);
    expect(conditionOf(await readScaledObject(kc, ns.name, 'canary'), 'Ready')?.status).toBe('True');
  });
});
