// The controller side of the controller bench (controller.bench.ts), in its own process so its
// CPU and peak RSS are its own: runs ebb's controller over the objects the parent created,
// measures, and prints one JSON line. The parent compiles this file and what it imports to
// JavaScript and runs it with NODE_ENV=production, as the image runs ebb (see there).
import { createScalerDeps } from '../../scalers/index.ts';
import { runController } from '../../src/cli/controller-wiring.ts';
import { createLogger, silentLogger } from '../../src/logging.ts';
import { EbbMetrics, ebbBuildInfo } from '../../src/observability/metrics.ts';
import { KubeClient } from '../../src/platform/kubernetes/client.ts';
import { loadKubeConfig } from '../../src/platform/kubernetes/kubeconfig.ts';
import { scaledObjectsPath } from '../../src/platform/kubernetes/scaledobjects.ts';
import type { Scaler } from '../../src/scaler.ts';
import { LARGE_FORMULA } from '../controller/fakes.ts';
import { openWindow, scaledObjectManifest } from '../controller/manifests.ts';
import { percentile, round, sleep, writesSettled } from './common.ts';
import {
  type Args,
  createDeployment,
  HOSTILE,
  HOSTILE_TRIGGER,
  log,
  NAMESPACE,
  parseArgs,
  post,
} from './controller-common.ts';

/** EBB_BENCH_MEMORY=1: RSS split (anon/file) and V8 heap after a full GC, at each stage. */
const memoryReport = async (stage: string): Promise<void> => {
  if (process.env.EBB_BENCH_MEMORY === undefined) return;
  (globalThis as { gc?: () => void }).gc?.();
  const { readFileSync } = await import('node:fs');
  const status = readFileSync('/proc/self/status', 'utf8')
    .split('\n')
    .filter((l) => /^(VmRSS|VmHWM|RssAnon|RssFile)/.test(l))
    .map((l) => l.replace(/\s+/g, ' '))
    .join(', ');
  const m = process.memoryUsage();
  const mb = (x: number) => Math.round(x / 1048576);
  log(
    `memory ${stage}: ${status}; heap ${mb(m.heapUsed)}/${mb(m.heapTotal)} MB, external ${mb(m.external)} MB`,
  );
};

/** The hostile neighbour's source: never answers, ignores the abort. */
const silentScaler = (metric: Scaler['metric']): Scaler => ({
  metric,
  read: () => new Promise(() => {}),
  close: async () => {},
});

/** The controller side, in its own process: prints one JSON line of measurements. */
const child = async (args: Args): Promise<void> => {
  const lateness: number[] = [];
  /** Healthy objects' lateness while the hostile neighbour is there. */
  const neighbourLateness: number[] = [];
  let hostilePolls = 0;
  let measuring = false;
  let measuringNeighbour = false;
  const hostileKey = `${NAMESPACE}/${HOSTILE}`;
  const scalerDeps = createScalerDeps();
  const metrics = new EbbMetrics(ebbBuildInfo());
  const running = await runController({
    metrics,
    kubeconfig: args.kubeconfig,
    namespace: NAMESPACE,
    // EBB_BENCH_LOG=info (or warn, debug) shows the controller's own log on stdout.
    log:
      process.env.EBB_BENCH_LOG === undefined
        ? silentLogger
        : createLogger({ level: process.env.EBB_BENCH_LOG }),
    maxConcurrentPolls: args.maxConcurrentPolls,
    onPollStart: (key, late) => {
      if (measuring) lateness.push(late);
      if (!measuringNeighbour) return;
      if (key === hostileKey) hostilePolls++;
      else neighbourLateness.push(late);
    },
    createScaler: (resolved) => {
      if (resolved.trigger.name === HOSTILE_TRIGGER) return silentScaler(resolved.metric);
      if (args.scaler !== 'constant') return resolved.create(scalerDeps);
      return {
        metric: resolved.metric,
        read: async () => ({ ok: true, value: { value: 0, active: false } }),
        close: async () => {},
      };
    },
  });
  const controller = running.controller();
  if (controller === undefined) throw new Error('no controller');
  await memoryReport('after the ScaledObject list');
  const client = running.platform.client;
  const source = running.platform.source;
  /** Objects whose status ebb has written (a Ready condition), as the informer's cache has them. */
  const withStatus = (): number => {
    let n = 0;
    for (const key of source.keys()) {
      const status = (source.get(key) as { status?: { conditions?: unknown[] } } | undefined)?.status;
      if ((status?.conditions?.length ?? 0) > 0) n++;
    }
    return n;
  };
  let reconciledAt = Number.NaN;
  const reconcileWatch = setInterval(() => {
    if (withStatus() < args.objects) return;
    reconciledAt = Date.now();
    clearInterval(reconcileWatch);
  }, 500);

  // Warm-up: every object scheduled and polled, then writes settled for 3 s.
  const warm = performance.now();
  const progress = setInterval(() => {
    const verbs = [...client.requests].map(([v, n]) => `${v}=${n}`).join(' ');
    const m = process.memoryUsage();
    const mb = (x: number) => Math.round(x / 1048576);
    log(
      `polling ${controller.polling}, queued ${controller.pending}, polls ${controller.stats.polls}, requests ${verbs}, ` +
        `rss ${mb(m.rss)} MB heap ${mb(m.heapUsed)}/${mb(m.heapTotal)} MB external ${mb(m.external)} MB buffers ${mb(m.arrayBuffers)} MB`,
    );
  }, 5000);
  while (controller.polling < args.objects || controller.pending > 0 || Number.isNaN(reconciledAt))
    await sleep(200);
  await writesSettled(client, 3000, warm + 300_000);
  clearInterval(progress);
  await memoryReport('after warm-up');
  log(`warm-up ${((performance.now() - warm) / 1000).toFixed(1)} s (${client.writes()} writes)`);

  const cpu0 = process.cpuUsage();
  const polls0 = controller.stats.polls;
  const writes0 = client.writes();
  const gets0 = client.requests.get('GET') ?? 0;
  const watches0 = client.requests.get('WATCH') ?? 0;
  const t0 = performance.now();
  measuring = true;
  const rssSamples: number[] = [];
  const sampler = setInterval(() => rssSamples.push(process.memoryUsage().rss), 1000);
  await sleep(args.duration * 1000);
  clearInterval(sampler);
  measuring = false;
  const metricsPage = Buffer.byteLength(await metrics.registry.metrics());
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const polls = controller.stats.polls - polls0;
  const writes = client.writes() - writes0;
  const gets = (client.requests.get('GET') ?? 0) - gets0;
  const watches = (client.requests.get('WATCH') ?? 0) - watches0;
  const sorted = Float64Array.from(lateness).sort();
  await memoryReport('after measuring');

  // The hostile neighbour joins; once it has been polled, the healthy objects are measured again.
  // Through a client of its own: the controller's request counts stay the controller's.
  const setup = new KubeClient(loadKubeConfig({ path: args.kubeconfig }));
  await createDeployment(setup, HOSTILE);
  await post(
    setup,
    scaledObjectsPath(NAMESPACE),
    scaledObjectManifest(NAMESPACE, HOSTILE, {
      triggers: [{ type: 'cron', name: HOSTILE_TRIGGER, metadata: openWindow(1) }],
      spec: { advanced: { scalingModifiers: { formula: LARGE_FORMULA, target: '5' } } },
    }),
  );
  await setup.close();
  const joined = performance.now();
  while (controller.polling < args.objects + 1 && performance.now() - joined < 60_000) await sleep(100);
  if (controller.polling < args.objects + 1) log('the hostile neighbour was not admitted; see its status');
  await sleep(2000);
  log(`hostile neighbour ${hostileKey} polling; measuring ${args.duration} s`);
  measuringNeighbour = true;
  await sleep(args.duration * 1000);
  measuringNeighbour = false;
  const neighbour = Float64Array.from(neighbourLateness).sort();

  // Read before a heap snapshot, which itself needs about the heap's size again.
  const peakRss = process.resourceUsage().maxRSS * 1024;
  if (process.env.EBB_BENCH_HEAPSNAPSHOT !== undefined) {
    const { writeHeapSnapshot } = await import('node:v8');
    log(`heap snapshot: ${writeHeapSnapshot(process.env.EBB_BENCH_HEAPSNAPSHOT)}`);
  }
  const result = {
    objects: args.objects,
    scaler: args.scaler,
    duration_s: round(seconds, 1),
    polls,
    polls_per_s: round(polls / seconds, 1),
    poll_lateness_p50_ms: round(percentile(sorted, 50)),
    poll_lateness_p99_ms: round(percentile(sorted, 99)),
    poll_lateness_max_ms: round(sorted.length === 0 ? Number.NaN : (sorted[sorted.length - 1] ?? Number.NaN)),
    polling_interval_s: args.pollingInterval,
    reconcile_all_s: round((reconciledAt - args.createdAt) / 1000, 1),
    cpu_seconds_per_poll: Number(((cpu.user + cpu.system) / 1e6 / Math.max(polls, 1)).toPrecision(3)),
    polls_per_cpu_second: Math.round(polls / ((cpu.user + cpu.system) / 1e6)),
    cpu_cores_used: round((cpu.user + cpu.system) / 1e6 / seconds, 2),
    rss_mb_steady: round(percentile(Float64Array.from(rssSamples).sort(), 50) / 1048576, 1),
    rss_mb_peak: round(peakRss / 1048576, 1),
    metrics_bytes_per_object: Math.round(metricsPage / args.objects),
    metrics_page_bytes: metricsPage,
    idle_api_writes_per_min: round((writes / seconds) * 60, 1),
    idle_api_gets_per_min: round((gets / seconds) * 60, 1),
    idle_watches_opened_per_min: round((watches / seconds) * 60, 1),
    hostile_neighbour_lateness_p99_ms: round(percentile(neighbour, 99)),
    hostile_neighbour_lateness_max_ms: round(neighbour[neighbour.length - 1] ?? Number.NaN),
    hostile_neighbour_polls: hostilePolls,
  };
  await running.stop();
  process.stdout.write(`${JSON.stringify(result)}\n`);
};

await child(parseArgs(process.argv.slice(2)));
