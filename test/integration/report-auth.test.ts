// Authenticated activator reports against the real kube-apiserver: the controller (runController
// with its report receiver, as `ebb run` serves it) verifies each report's bearer token with a
// real TokenReview. ServiceAccounts are created here and their tokens issued by the TokenRequest
// API, as the kubelet's projected volume would. Shown: the allowed ServiceAccount's token (with
// the receiver's audience) is accepted; no token → 401; another ServiceAccount's → 403; the right
// ServiceAccount with the wrong audience → 401; forged counts and a future timestamp → 400; each
// refusal is counted in ebb_activator_reports_refused_total; and a standalone activator (the real
// reporter, reading its token from a file) wakes a Deployment from zero, while one holding another
// ServiceAccount's token cannot.
import { writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type RunningController, runController } from '../../src/cli/controller-wiring.ts';
import {
  type RunningStandaloneActivator,
  runStandaloneActivator,
} from '../../src/cli/standalone-activator.ts';
import { POKE_PATH, STATS_PATH } from '../../src/controller/activator-reports.ts';
import { silentLogger } from '../../src/logging.ts';
import {
  createHttpApp,
  createScaledObject,
  deploymentReplicas,
  installCrd,
  serviceAccountToken,
} from '../controller/cluster.ts';
import { makeTempDir, removeDir } from '../env/proc.ts';
import { kubeConfig, kubeConnection, useNamespace } from '../env/testing.ts';

const WAIT = { timeout: 30_000, interval: 200 };
const AUDIENCE = 'ebb-test-activator-reports';
const kc = kubeConfig();
const ns = useNamespace('report-auth');

let controller: RunningController;
let url = '';
let dir = '';
const activators: RunningStandaloneActivator[] = [];
/** Tokens the API server issued: the allowed activator's, another ServiceAccount's, and the activator's for the API server's audience. */
const tokens = { activator: '', other: '', wrongAudience: '' };

beforeAll(async () => {
  await installCrd(kc);
  dir = await makeTempDir('report-auth');
  tokens.activator = await serviceAccountToken(kc, ns.name, 'activator', [AUDIENCE]);
  tokens.other = await serviceAccountToken(kc, ns.name, 'other', [AUDIENCE]);
  tokens.wrongAudience = await serviceAccountToken(kc, ns.name, 'activator');
  controller = await runController({
    kubeconfig: kubeConnection().kubeconfigPath,
    namespace: ns.name,
    log: silentLogger,
    reportPort: 0,
    reportAddress: '127.0.0.1',
    reportAllowedServiceAccounts: [`${ns.name}:activator`],
    reportTokenAudiences: [AUDIENCE],
  });
  url = controller.reports?.url ?? '';
}, 60_000);

afterAll(async () => {
  for (const a of activators) await a.stop();
  await controller?.stop();
  if (dir !== '') await removeDir(dir);
});

const post = async (path: string, body: unknown, token?: string) => {
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    },
    body: JSON.stringify(body),
  });
  return { status: res.status, text: (await res.text()).trim() };
};

const stats = (activator: string, over: Record<string, unknown> = {}) => ({
  activator,
  at: Date.now(),
  routes: [{ route: `${ns.name}/nothing`, inFlight: 0, held: 0, requests: 0, concurrencyMs: 0, ...over }],
});

/** ebb_activator_reports_refused_total by reason, from the controller's registry. */
const refused = async (): Promise<Record<string, number>> => {
  const out: Record<string, number> = {};
  for (const line of (await controller.metrics.render()).split('\n')) {
    const m = /^ebb_activator_reports_refused_total\{reason="(\w+)"\} (\d+)$/.exec(line);
    if (m?.[1] !== undefined) out[m[1]] = Number(m[2]);
  }
  return out;
};

describe('the report receiver asks the API server who is reporting', () => {
  it("accepts the allowed ServiceAccount's token for its audience", async () => {
    expect(await post(STATS_PATH, stats('probe-ok'), tokens.activator)).toEqual({ status: 204, text: '' });
    expect(controller.reports?.feed.activators()).toContain('probe-ok');
  });

  it('refuses no token (401), another ServiceAccount (403), the wrong audience (401); counts each', async () => {
    const before = await refused();
    const none = await post(STATS_PATH, stats('probe-none'));
    expect(none.status).toBe(401);
    expect(none.text).toMatch(/^no Authorization header/);
    const other = await post(STATS_PATH, stats('probe-other'), tokens.other);
    expect(other).toEqual({
      status: 403,
      text: `system:serviceaccount:${ns.name}:other may not report to the controller (not in --report-allowed-service-accounts)`,
    });
    const audience = await post(STATS_PATH, stats('probe-audience'), tokens.wrongAudience);
    expect(audience.status).toBe(401);
    const garbage = await post(STATS_PATH, stats('probe-garbage'), `${tokens.activator.slice(0, -4)}AAAA`);
    expect(garbage.status).toBe(401);
    const after = await refused();
    expect((after.Unauthenticated ?? 0) - (before.Unauthenticated ?? 0)).toBe(3);
    expect((after.ForbiddenReporter ?? 0) - (before.ForbiddenReporter ?? 0)).toBe(1);
    expect(controller.reports?.feed.activators()).not.toEqual(
      expect.arrayContaining(['probe-none', 'probe-other', 'probe-audience', 'probe-garbage']),
    );
  });

  it('refuses forged counts and a report from the future (400, naming the field) even from the allowed token', async () => {
    const before = await refused();
    const forged = await post(STATS_PATH, stats('probe-forged', { inFlight: 1e9 }), tokens.activator);
    expect(forged.status).toBe(400);
    expect(forged.text).toMatch(/^routes\.0\.inFlight: /);
    const future = await post(
      STATS_PATH,
      { ...stats('probe-future'), at: Date.now() + 3_600_000 },
      tokens.activator,
    );
    expect(future.status).toBe(400);
    expect(future.text).toMatch(/^at: .* is 3600 s ahead of the controller's clock/);
    const poke = await post(
      POKE_PATH,
      { activator: 'probe-poke', route: `${ns.name}/nothing`, held: 1 },
      tokens.activator,
    );
    expect(poke).toEqual({
      status: 400,
      text: `route: no ScaledObject has the http route ${ns.name}/nothing`,
    });
    const after = await refused();
    expect((after.InvalidReport ?? 0) - (before.InvalidReport ?? 0)).toBe(1);
    expect((after.ClockSkew ?? 0) - (before.ClockSkew ?? 0)).toBe(1);
    expect((after.UnknownRoute ?? 0) - (before.UnknownRoute ?? 0)).toBe(1);
  });
});

/** A standalone activator on 127.0.0.1 reporting to the controller with the token in `token`. */
const startActivator = async (id: string, token: string): Promise<RunningStandaloneActivator> => {
  const file = join(dir, `${id}.token`);
  writeFileSync(file, token, { mode: 0o600 });
  const a = await runStandaloneActivator({
    kubeconfig: kubeConnection().kubeconfigPath,
    namespace: ns.name,
    controllerUrls: [url],
    reportTokenFile: file,
    port: 0,
    address: '127.0.0.1',
    activatorId: id,
    log: silentLogger,
  });
  activators.push(a);
  return a;
};

/** GET / for `host` on the activator: its status, or `held` when unanswered after 1 s. */
const ask = (port: number, host: string): Promise<number | 'held'> =>
  new Promise((resolve) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: '/', headers: { host } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    setTimeout(() => {
      resolve('held');
      req.destroy();
    }, 1_000);
    req.end();
  });

describe('a standalone activator reporting with its token file', () => {
  it('wakes a Deployment from zero; one with another ServiceAccount’s token cannot', async () => {
    await createHttpApp(kc, ns.name, 'shop');
    await createHttpApp(kc, ns.name, 'other');
    for (const name of ['shop', 'other']) {
      await createScaledObject(kc, ns.name, name, {
        spec: { pollingInterval: 300, cooldownPeriod: 300 },
        triggers: [{ type: 'http', metadata: { hosts: `${name}.example.test`, service: name, port: '80' } }],
      });
    }
    const allowed = await startActivator('act-allowed', tokens.activator);
    const forbidden = await startActivator('act-forbidden', tokens.other);
    const before = await refused();

    // 404 until the activator routes the host; then the request is held and its poke wakes shop.
    await vi.waitFor(async () => {
      expect(await ask(allowed.port, 'shop.example.test')).toBe('held');
      expect(await deploymentReplicas(kc, ns.name, 'shop')).toBe(1);
    }, WAIT);
    expect(controller.reports?.feed.activators()).toContain('act-allowed');

    // The other activator's request is held too, but its pokes and stats are refused: no wake-up.
    await vi.waitFor(async () => expect(await ask(forbidden.port, 'other.example.test')).toBe('held'), WAIT);
    await vi.waitFor(
      async () =>
        expect(((await refused()).ForbiddenReporter ?? 0) - (before.ForbiddenReporter ?? 0)).toBeGreaterThan(
          0,
        ),
      WAIT,
    );
    expect(await deploymentReplicas(kc, ns.name, 'other')).toBe(0);
    expect(controller.reports?.feed.activators()).not.toContain('act-forbidden');
  });
});
