// Several activator replicas in front of one controller (issue 4: "Several activator replicas
// may run; the controller sums them"), through the real path: the controller is runController
// with its report receiver (`reportPort`, what `ebb run --report-port` serves) against the real
// API server; activator A runs in this process (runStandaloneActivator) and reaches the
// controller through a host name (a fake resolver stands in for the headless Service's DNS),
// activator B is the CLI in a child process (`ebb activator --controller-url`), so it can also
// die without a goodbye. Both route the same ScaledObjects to backends the netns test kubelet
// runs and publishes in real EndpointSlices; requests are sent to A or B on 127.0.0.1. Both
// serve /metrics and /readyz (--metrics-port, --health-port). A third child, C, is `ebb
// activator` without --controller-url (controller and activator in one process) in a namespace
// of its own: one /metrics port serves the controller's and the activator's series. A and B
// report with a ServiceAccount token from a file, which the controller verifies (TokenReview).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type RunningController, runController } from '../../src/cli/controller-wiring.ts';
import {
  type RunningStandaloneActivator,
  runStandaloneActivator,
} from '../../src/cli/standalone-activator.ts';
import type { ServedActivatorReports } from '../../src/controller/activator-reports.ts';
import { noopObserver, type PollObservation } from '../../src/controller/observer.ts';
import { silentLogger } from '../../src/logging.ts';
import {
  conditionOf,
  createHttpApp,
  createScaledObject,
  deleteScaledObject,
  installCrd,
  listEvents,
  readScaledObject,
  serviceAccountToken,
} from '../controller/cluster.ts';
import { startKubelet, type TestKubelet } from '../env/kubelet.ts';
import { useNetns } from '../env/netns.ts';
import { freePort, type ManagedProcess, makeTempDir, removeDir, startProcess } from '../env/proc.ts';
import { kubeConfig, kubeConnection, useNamespace } from '../env/testing.ts';
import { type Answer, ClientRequests, type Sent } from './activator-setup.ts';

const WAIT = { timeout: 20_000, interval: 100 };
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

const kc = kubeConfig();
const apps = kc.makeApiClient(AppsV1Api);
const core = kc.makeApiClient(CoreV1Api);
const ns = useNamespace('activator-replicas');
/** Activator C's namespace (controller + activator in one process; no other process watches it). */
const single = useNamespace('activator-single');
/** The controllers' name as activator A knows it (its fake resolver answers 127.0.0.1). */
const CONTROLLERS = 'ebb-controller-reports.test';
/** The audience of the activators' report tokens (the chart's projected token has its own). */
const REPORT_AUDIENCE = 'ebb-test-activator-reports';
const net = useNetns();
const kubelets: TestKubelet[] = [];

let controller: RunningController;
let reports: ServedActivatorReports;
let a: RunningStandaloneActivator;
/** Activator B: `ebb activator --controller-url` in a child process, id act-b. */
let b: ManagedProcess;
/** Activator C: `ebb activator` without --controller-url, started by its test. */
let c: ManagedProcess | undefined;
let bUrl: string;
/** B's /metrics and /healthz + /readyz. */
let bMetricsUrl: string;
let bHealthUrl: string;
let tmp: string | undefined;
/** Every scale write the controller made, as `name=replicas`, in order. */
const scaleWrites: string[] = [];
const writesTo = (name: string): string[] => scaleWrites.filter((w) => w.startsWith(`${name}=`));
/** Every poll the controller made (what each case's failure message shows). */
const polls: PollObservation[] = [];
/** One object's polls as `replicas current→desired (value)` lines, for failure messages. */
const pollsOf = (name: string): string =>
  polls
    .filter((o) => o.name === name)
    .map(
      (o) =>
        `${o.currentReplicas}→${o.desiredReplicas} (${o.triggers.map((t) => t.value ?? t.error?.reason).join(', ')})`,
    )
    .join('\n');
/** Client requests still open at the end; destroyed in afterAll. */
const requests = new ClientRequests();
const open = requests.open;

beforeAll(async () => {
  await installCrd(kc);
  const kubeconfig = kubeConnection().kubeconfigPath;
  // The activators report as the chart runs them: with their ServiceAccount's token (from a
  // file), which the controller verifies with a TokenReview for its audience.
  tmp = await makeTempDir('activator-replicas');
  const tokenFile = join(tmp, 'activator.token');
  writeFileSync(tokenFile, await serviceAccountToken(kc, ns.name, 'activator', [REPORT_AUDIENCE]), {
    mode: 0o600,
  });
  controller = await runController({
    kubeconfig,
    namespace: ns.name,
    log: silentLogger,
    eventRefreshMs: 500,
    observer: { ...noopObserver, polled: (o) => polls.push(o) },
    reportPort: 0,
    reportAddress: '127.0.0.1',
    reportAllowedServiceAccounts: [`${ns.name}:activator`],
    reportTokenAudiences: [REPORT_AUDIENCE],
  });
  if (controller.reports === undefined) throw new Error('runController received no reports');
  reports = controller.reports;
  const target = controller.platform.scaleTarget;
  const scale = target.scale.bind(target);
  target.scale = (ref, replicas) => {
    scaleWrites.push(`${ref.name}=${replicas}`);
    return scale(ref, replicas);
  };
  a = await runStandaloneActivator({
    kubeconfig,
    namespace: ns.name,
    // A name, as in a cluster (the controllers' headless Service): resolved, then posted to.
    controllerUrls: [`http://${CONTROLLERS}:${reports.port}`],
    resolve: async (host) => (host === CONTROLLERS ? ['127.0.0.1'] : []),
    reportTokenFile: tokenFile,
    port: 0,
    address: '127.0.0.1',
    metricsPort: 0,
    healthPort: 0,
    activatorId: 'act-a',
    log: silentLogger,
  });
  const [port, bHealth, bMetrics] = [await freePort(), await freePort(), await freePort()];
  const logFile = join(tmp, 'activator-b.log');
  b = startProcess({
    name: 'activator-b',
    command: process.execPath,
    args: [
      '--import',
      'tsx',
      'src/main.ts',
      'activator',
      ...['--kubeconfig', kubeconfig, '--namespace', ns.name],
      ...['--port', String(port), '--address', '127.0.0.1', '--controller-url', reports.url],
      ...['--report-token-file', tokenFile],
      ...['--health-port', String(bHealth), '--metrics-port', String(bMetrics)],
    ],
    logFile,
    cwd: ROOT,
    env: { ...process.env, POD_NAME: 'act-b', EBB_LOG_LEVEL: 'warn' },
  });
  bUrl = `http://127.0.0.1:${port}`;
  bHealthUrl = `http://127.0.0.1:${bHealth}`;
  bMetricsUrl = `http://127.0.0.1:${bMetrics}`;
  await vi.waitFor(
    () => {
      if (b.exit !== undefined) throw new Error(`activator B exited: ${b.logTail()}`);
      expect(readFileSync(logFile, 'utf8')).toContain(`listening on ${bUrl}`);
    },
    { timeout: 60_000, interval: 100 },
  );
});

afterAll(async () => {
  for (const req of open) req.destroy();
  await Promise.all(kubelets.map((k) => k.stop()));
  await b?.stop(10_000);
  await c?.stop(10_000);
  await a?.stop();
  await controller?.stop();
  if (tmp !== undefined) await removeDir(tmp);
});

/** A Deployment at 0 and its Service (port 80 `http` → 8080); with a kubelet unless `pods` is false. */
const createApp = async (name: string, pods = true, namespace = ns.name): Promise<void> => {
  await createHttpApp(kc, namespace, name);
  if (!pods) return;
  kubelets.push(
    await startKubelet({
      kc,
      namespace,
      deployment: name,
      service: name,
      netns: net.current,
      terminationGraceMs: 2_000,
    }),
  );
};

const httpTrigger = (name: string, metadata: Record<string, string> = {}) => ({
  type: 'http',
  metadata: { hosts: `${name}.example.test`, service: name, port: '80', ...metadata },
});

/** An http-triggered ScaledObject; waits until both activators report its route and it was polled once. */
const createHttpScaledObject = async (
  name: string,
  metadata: Record<string, string>,
  spec: Record<string, unknown>,
): Promise<void> => {
  await createScaledObject(kc, ns.name, name, { triggers: [httpTrigger(name, metadata)], spec });
  const key = `${ns.name}/${name}`;
  await vi.waitFor(() => {
    expect(a.routes().routes.map((r) => r.key)).toContain(key);
    expect(reports.feed.reporting(key)).toEqual(['act-a', 'act-b']);
  }, WAIT);
  await vi.waitFor(
    async () => expect(conditionOf(await readScaledObject(kc, ns.name, name), 'Active')).toBeDefined(),
    WAIT,
  );
};

/** spec.replicas and metadata.generation: every scale write bumps the generation by one. */
const deployment = async (name: string): Promise<{ replicas: number; generation: number }> => {
  const d = await apps.readNamespacedDeployment({ name, namespace: ns.name });
  return { replicas: d.spec?.replicas ?? -1, generation: d.metadata?.generation ?? -1 };
};

const replicas = async (name: string): Promise<number> => (await deployment(name)).replicas;

/** One request to an activator (`base`) with `Host: <host>`; the caller may abort it. */
const start = (base: string, host: string, path = '/', timeoutMs = 130_000): Sent =>
  requests.start(base, host, { path, timeoutMs });

const send = (base: string, host: string, path = '/'): Promise<Answer> => start(base, host, path).answer;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** GET `url`: status and body (/metrics, /healthz, /readyz). */
const get = async (url: string): Promise<Answer> => {
  const res = await fetch(url);
  return { status: res.status, headers: Object.fromEntries(res.headers), body: await res.text() };
};

/** A Prometheus sample line's value in `text`, e.g. `name{a="b"}`; undefined when absent. */
const sample = (text: string, series: string): number | undefined => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

/** A route's label set as EbbMetrics writes it, plus `extra` (e.g. `code="200"`). */
const routeLabels = (namespace: string, name: string, extra = ''): string =>
  `{namespace="${namespace}",scaledObject="${name}",route="${namespace}/${name}"${extra === '' ? '' : `,${extra}`}}`;

/** The route's counters on one in-process activator (A). */
const onA = (name: string) => a.activator.stats().routes.find((r) => r.route === `${ns.name}/${name}`);

describe('two standalone activators reporting to one controller', () => {
  it('a cold start through A wakes the target with exactly one scale write; B serves it warm', async () => {
    await createApp('cold');
    // pollingInterval 30 s: only A's poke, over HTTP to the controller, can be that fast.
    await createHttpScaledObject('cold', {}, { pollingInterval: 30, cooldownPeriod: 300 });
    const before = await deployment('cold');
    expect(before.replicas).toBe(0);

    const started = performance.now();
    const answer = await send(a.url, 'cold.example.test', '/hello');
    expect(answer.status, answer.body).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ name: 'cold-0', path: '/hello' });
    expect(performance.now() - started).toBeLessThan(15_000);
    expect((await send(bUrl, 'cold.example.test', '/through-b')).status).toBe(200);

    await sleep(2_000); // both activators' later reports must not write again
    expect(await deployment('cold')).toEqual({ replicas: 1, generation: before.generation + 1 });
    expect(writesTo('cold')).toEqual(['cold=1']);
  });

  it('A and B serve /metrics (their ebb_activator_* series) and /readyz (watches listed, not draining)', async () => {
    const bMetrics = (await get(`${bMetricsUrl}/metrics`)).body;
    expect(
      sample(
        bMetrics,
        `ebb_activator_request_duration_seconds_count${routeLabels(ns.name, 'cold', 'code="200"')}`,
      ),
    ).toBe(1);
    const aMetrics = (await get(`${a.metricsUrl}/metrics`)).body;
    expect(
      sample(
        aMetrics,
        `ebb_activator_request_duration_seconds_count${routeLabels(ns.name, 'cold', 'code="200"')}`,
      ),
    ).toBe(1);
    // The cold start went through A: held, forwarded, one cold start.
    expect(
      sample(aMetrics, `ebb_activator_cold_start_duration_seconds_count${routeLabels(ns.name, 'cold')}`),
    ).toBe(1);
    expect(
      sample(
        aMetrics,
        `ebb_activator_held_request_duration_seconds_count${routeLabels(ns.name, 'cold', 'outcome="forwarded"')}`,
      ),
    ).toBe(1);
    expect(
      sample(bMetrics, `ebb_activator_cold_start_duration_seconds_count${routeLabels(ns.name, 'cold')}`),
    ).toBeUndefined();
    expect(aMetrics).toContain('ebb_build_info{');

    for (const health of [bHealthUrl, a.healthUrl]) {
      const ready = await get(`${health}/readyz?verbose`);
      expect(ready.status, ready.body).toBe(200);
      expect(ready.body).toContain('[+]routes ok\n[+]activator ok\nreadyz check passed');
      expect((await get(`${health}/healthz`)).status).toBe(200);
      expect((await get(`${health}/metrics`)).status).toBe(404); // on its own port
    }
  });

  it('load split across A and B is summed: 3 + 3 in flight at target 2 → ceil(6 / 2) = 3 replicas', async () => {
    await createApp('split');
    await createHttpScaledObject(
      'split',
      { targetConcurrency: '2' },
      { pollingInterval: 1, cooldownPeriod: 300 },
    );
    expect((await send(a.url, 'split.example.test', '/warm')).status).toBe(200); // 0 → 1

    // Either half alone is ceil(3 / 2) = 2 replicas; only the sum makes 3.
    const load = [a.url, a.url, a.url, bUrl, bUrl, bUrl].map((base, i) =>
      send(base, 'split.example.test', `/load/${i}?delayMs=25000`),
    );
    await vi.waitFor(() => {
      const mine = onA('split');
      expect((mine?.inFlight ?? 0) + (mine?.held ?? 0)).toBe(3);
      const sum = reports.feed.latest(`${ns.name}/split`);
      expect((sum?.inFlight ?? 0) + (sum?.held ?? 0)).toBe(6);
    }, WAIT);
    await vi.waitFor(async () => expect(await replicas('split')).toBe(3), WAIT);
    await sleep(3_000);
    expect(await replicas('split'), pollsOf('split')).toBe(3); // and no more
    const writes = writesTo('split').map((w) => Number(w.slice('split='.length)));
    expect(writes[0]).toBe(1);
    expect(writes.at(-1)).toBe(3);
    expect(writes.every((n, i) => i === 0 || n > (writes[i - 1] ?? 0))).toBe(true); // only up

    const answers = await Promise.all(load);
    expect(answers.map((x) => x.status)).toEqual([200, 200, 200, 200, 200, 200]);
  });

  it('a request in flight on B alone keeps the route up past the cooldown; then 0, and awake again through A', async () => {
    await createApp('busy');
    await createHttpScaledObject('busy', {}, { pollingInterval: 1, cooldownPeriod: 2 });
    // A cold start through B; the request then stays in flight on B for 8 s (4 cooldowns).
    const long = start(bUrl, 'busy.example.test', '/long?delayMs=8000');
    await vi.waitFor(async () => expect(await replicas('busy')).toBe(1), WAIT);
    const seen = new Set<number>();
    while (!long.settled()) {
      seen.add(await replicas('busy'));
      expect(onA('busy')).toMatchObject({ inFlight: 0, held: 0 }); // A has nothing of it
      await sleep(250);
    }
    expect([...seen]).toEqual([1]);
    expect((await long.answer).status).toBe(200);

    await vi.waitFor(async () => expect(await replicas('busy')).toBe(0), WAIT);
    const again = await send(a.url, 'busy.example.test', '/again');
    expect(again.status, again.body).toBe(200);
    expect(writesTo('busy')).toEqual(['busy=1', 'busy=0', 'busy=1']);
  });

  it('a request held on B alone keeps the route up past the cooldown; it goes to 0 once the client leaves', async () => {
    await createApp('held', false); // woken, never ready: the request stays held
    await createHttpScaledObject('held', { holdTimeout: '60s' }, { pollingInterval: 1, cooldownPeriod: 2 });
    const held = start(bUrl, 'held.example.test', '/held');
    await vi.waitFor(() => expect(reports.feed.latest(`${ns.name}/held`)).toMatchObject({ held: 1 }), WAIT);
    await vi.waitFor(async () => expect(await replicas('held')).toBe(1), WAIT);
    for (let i = 0; i < 24; i++) {
      expect(await replicas('held')).toBe(1); // 6 s: three cooldowns
      await sleep(250);
    }
    expect(held.settled()).toBe(false);
    held.req.destroy();
    await held.answer.catch(() => undefined);
    await vi.waitFor(async () => expect(await replicas('held')).toBe(0), WAIT);
    expect(writesTo('held')).toEqual(['held=1', 'held=0']);
  });

  it('route problems surface on the losing object: a host + path claimed twice, a named port the Service lacks', async () => {
    for (const name of ['route-a', 'route-b', 'named']) await createApp(name, false);
    // route-b first, so the conflict appears only when route-a (which sorts first) arrives.
    await createScaledObject(kc, ns.name, 'route-b', {
      triggers: [httpTrigger('route-b', { hosts: 'shared.example.test' })],
    });
    await vi.waitFor(async () => {
      expect(conditionOf(await readScaledObject(kc, ns.name, 'route-b'), 'Ready')?.status).toBe('True');
    }, WAIT);
    await createScaledObject(kc, ns.name, 'route-a', {
      triggers: [httpTrigger('route-a', { hosts: 'shared.example.test' })],
    });
    await createScaledObject(kc, ns.name, 'named', { triggers: [httpTrigger('named', { port: 'grpc' })] });

    await vi.waitFor(async () => {
      expect(conditionOf(await readScaledObject(kc, ns.name, 'route-b'), 'Ready')).toMatchObject({
        status: 'False',
        reason: 'RouteConflict',
        message: expect.stringMatching(
          new RegExp(
            `^spec\\.triggers\\[0\\]\\.metadata\\.hosts: host shared\\.example\\.test path prefix / is also claimed by ScaledObject ${ns.name}/route-a`,
          ),
        ),
      });
      expect(conditionOf(await readScaledObject(kc, ns.name, 'named'), 'Ready')).toMatchObject({
        status: 'False',
        reason: 'ServicePortUnresolved',
        message: expect.stringContaining(
          `spec.triggers[0].metadata.port: Service ${ns.name}/named has no port named "grpc"`,
        ),
      });
    }, WAIT);
    await vi.waitFor(async () => {
      const warnings = (await listEvents(kc, ns.name)).filter((e) => e.type === 'Warning');
      expect(warnings).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            regarding: 'ScaledObject/route-b',
            reason: 'RouteConflict',
            note: expect.stringContaining('spec.triggers[0].metadata.hosts'),
          }),
          expect.objectContaining({
            regarding: 'ScaledObject/named',
            reason: 'ServicePortUnresolved',
            note: expect.stringContaining('spec.triggers[0].metadata.port'),
          }),
        ]),
      );
      expect(warnings.filter((e) => e.regarding === 'ScaledObject/route-a')).toEqual([]);
    }, WAIT);
    // Each activator routes the shared host to route-a only.
    expect(a.routes().routes.map((r) => r.key)).toEqual(expect.arrayContaining([`${ns.name}/route-a`]));

    // The Service gets the port: the activators' next reports clear it; the winner leaves: b is served.
    const svc = await core.readNamespacedService({ name: 'named', namespace: ns.name });
    svc.spec?.ports?.push({ name: 'grpc', port: 81, targetPort: 8081, protocol: 'TCP' });
    await core.replaceNamespacedService({ name: 'named', namespace: ns.name, body: svc });
    await deleteScaledObject(kc, ns.name, 'route-a');
    await vi.waitFor(async () => {
      expect(conditionOf(await readScaledObject(kc, ns.name, 'named'), 'Ready')?.status).toBe('True');
      expect(conditionOf(await readScaledObject(kc, ns.name, 'route-b'), 'Ready')?.status).toBe('True');
    }, WAIT);
  });

  it('one process (no --controller-url): one /metrics port serves the controller and the activator, /readyz checks both', async () => {
    const other = single.name;
    await createApp('single', false, other); // woken, never ready: the request times out held
    await createScaledObject(kc, other, 'single', {
      triggers: [httpTrigger('single', { holdTimeout: '3s' })],
      spec: { pollingInterval: 1, cooldownPeriod: 300 },
    });
    const [port, health, metrics] = [await freePort(), await freePort(), await freePort()];
    const logFile = join(tmp ?? '', 'activator-c.log');
    const cUrl = `http://127.0.0.1:${port}`;
    c = startProcess({
      name: 'activator-c',
      command: process.execPath,
      args: [
        ...['--import', 'tsx', 'src/main.ts', 'activator'],
        ...['--kubeconfig', kubeConnection().kubeconfigPath, '--namespace', other],
        ...['--port', String(port), '--address', '127.0.0.1'],
        ...['--health-port', String(health), '--metrics-port', String(metrics)],
        ...['--metrics-detail', 'extended'], // ebb_scaled_object_replicas below
      ],
      logFile,
      cwd: ROOT,
      env: { ...process.env, POD_NAME: 'act-c', EBB_LOG_LEVEL: 'warn' },
    });
    const proc = c;
    await vi.waitFor(
      () => {
        if (proc.exit !== undefined) throw new Error(`activator C exited: ${proc.logTail()}`);
        expect(readFileSync(logFile, 'utf8')).toContain(`activator listening on ${cUrl}`);
      },
      { timeout: 60_000, interval: 100 },
    );
    const healthUrl = `http://127.0.0.1:${health}`;
    const metricsUrl = `http://127.0.0.1:${metrics}/metrics`;
    const ready = await get(`${healthUrl}/readyz?verbose`);
    expect(ready.status, ready.body).toBe(200);
    for (const check of ['routes', 'activator', 'informers'])
      expect(ready.body).toContain(`[+]${check} ok\n`);
    const desired = `ebb_scaled_object_replicas{namespace="${other}",scaledObject="single",kind="desired"}`;
    await vi.waitFor(async () => expect(sample((await get(metricsUrl)).body, desired)).toBe(0), WAIT);

    // Cold: held, poked (the controller in the same process wakes it), never ready: 504 after 3 s.
    const answer = await send(cUrl, 'single.example.test', '/wake');
    expect(answer.status, answer.body).toBe(504);
    const text = (await get(metricsUrl)).body;
    expect(
      sample(
        text,
        `ebb_activator_request_duration_seconds_count${routeLabels(other, 'single', 'code="504"')}`,
      ),
    ).toBe(1);
    expect(
      sample(
        text,
        `ebb_activator_held_request_duration_seconds_count${routeLabels(other, 'single', 'outcome="timeout"')}`,
      ),
    ).toBe(1);
    expect(sample(text, desired)).toBe(1);
    expect(text.match(/^ebb_build_info\{/gm)).toHaveLength(1); // one registry
    expect((await apps.readNamespacedDeployment({ name: 'single', namespace: other })).spec?.replicas).toBe(
      1,
    );
    await proc.stop(10_000);
    expect(proc.exit).toMatchObject({ code: 0 }); // SIGTERM: drained, then a clean exit
  });

  // Last: B dies here.
  it('an activator that dies without a goodbye: its data goes stale and the route is not scaled to zero on it', async () => {
    await createApp('stale');
    await createHttpScaledObject('stale', {}, { pollingInterval: 1, cooldownPeriod: 2 });
    const long = start(bUrl, 'stale.example.test', '/long?delayMs=120000');
    await vi.waitFor(
      () => expect(reports.feed.latest(`${ns.name}/stale`)).toMatchObject({ inFlight: 1 }),
      WAIT,
    );
    expect(await replicas('stale')).toBe(1);

    process.kill(-b.pid, 'SIGKILL'); // the whole process group: no drain, no goodbye
    const killedAt = performance.now();
    await long.answer.catch(() => undefined); // its client's connection died with it
    // Fresh for 10 s, then stale: the trigger fails (Ready=False, TriggerError), never reads 0.
    await vi.waitFor(
      async () =>
        expect(conditionOf(await readScaledObject(kc, ns.name, 'stale'), 'Ready')).toMatchObject({
          status: 'False',
          reason: 'TriggerError',
          message: expect.stringContaining('HttpMetricsStale'),
        }),
      WAIT,
    );
    while (performance.now() - killedAt < 25_000) {
      expect(await replicas('stale')).toBe(1);
      await sleep(500);
    }
    // 30 s after its last report B is forgotten: A's counters are the whole truth, and idle.
    await vi.waitFor(async () => expect(await replicas('stale')).toBe(0), { timeout: 30_000, interval: 250 });
    expect(reports.feed.activators()).toEqual(['act-a']);
    expect(writesTo('stale')).toEqual(['stale=1', 'stale=0']);
  });

  // After B died: A alone.
  it("A's /readyz fails once it drains (it stays alive); the request in flight still finishes", async () => {
    await createApp('drain');
    await createScaledObject(kc, ns.name, 'drain', {
      triggers: [httpTrigger('drain')],
      spec: { pollingInterval: 1, cooldownPeriod: 300 },
    });
    await vi.waitFor(() => expect(a.routes().routes.map((r) => r.key)).toContain(`${ns.name}/drain`), WAIT);
    expect((await get(`${a.healthUrl}/readyz`)).status).toBe(200);
    const long = start(a.url, 'drain.example.test', '/long?delayMs=4000');
    await vi.waitFor(() => expect(onA('drain')).toMatchObject({ inFlight: 1 }), WAIT);
    const drained = a.drain();
    const ready = await get(`${a.healthUrl}/readyz`);
    expect(ready.status).toBe(503);
    expect(ready.body).toContain('[-]activator failed: draining');
    expect((await get(`${a.healthUrl}/healthz`)).status).toBe(200);
    expect(long.settled()).toBe(false);
    expect((await long.answer).status).toBe(200);
    await drained;
  });
});
