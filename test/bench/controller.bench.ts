// Controller benchmark against a real kube-apiserver + etcd (test/env's startKube, not vitest).
//
//   npm run bench                      1,000 ScaledObjects
//   npm run bench -- --objects 10000   (--duration <s>, --scaler cron|constant, --max-concurrent-polls <n>,
//                                       --polling-interval <s>, --create-concurrency <n>,
//                                       --container-memory-mb <MB>)
//
// N ScaledObjects with one cron trigger each at pollingInterval 1, half with the window open
// (held at 1 replica), half closed (at 0). Each targets its OWN Deployment: two ScaledObjects on
// one target are refused (ScaleTargetInUse), so sharing 50 Deployments would measure refusals,
// not polls. The controller runs in a child process so its CPU and peak RSS are its own, not
// those of the setup that created 2N objects. After a warm-up (every object polled, status
// written, writes settled) it measures for `--duration` seconds:
//   poll lateness (actual poll start − due time) p50/p99/max, CPU seconds per poll
//   (process.cpuUsage), peak RSS, and API writes per minute while nothing changes (the
//   adapter counts every request it makes, by verb).
// `--scaler constant` swaps the cron scaler for one that returns a constant (controller cost
// without cron-parser's).
// Then a hostile neighbour joins: one more ScaledObject (on its own Deployment) with a large
// formula over a trigger whose source never answers (each of its polls ends at the 10 s poll
// deadline); for another `--duration` seconds the healthy objects' lateness is measured again:
// hostile_neighbour_lateness_p99_ms (target < 100 ms). The LAST line printed is one JSON object.
// Issue 15's figures: reconcile_all_s (creation finished → every object's status written, the
// controller started after creation), rss_mb_steady (median RSS while measuring) and
// rss_mb_peak, metrics_bytes_per_object (the /metrics page ÷ objects), polls_per_cpu_second.
// bytes_per_object is the slope of rss_mb_steady between two runs (README, "Sizing").
// Heap: V8 grows the heap lazily during the warm-up's burst of status writes; with a limit
// (`NODE_OPTIONS=--max-old-space-size=288 npm run bench -- --objects 10000`, as a deployment
// would set) peak RSS stays under 400 MB at 10,000 objects; 192 is too tight (GC thrash).
// EBB_BENCH_MEMORY=1 logs RSS and heap at each stage; EBB_BENCH_LOG=info the controller's log.
// The controller runs as shipped: the image runs tsc's JavaScript with NODE_ENV=production
// (Dockerfile), so the bench compiles the child (controller-child.ts and what it imports) into
// .bench-build/controller/ (common.ts compileForBench) and runs node on it;
// under tsx the same controller paid ~48 MB more RSS for the loader and its transform cache.
import { spawn } from 'node:child_process';
import {
  ApiextensionsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  loadAllYaml,
  type V1CustomResourceDefinition,
} from '@kubernetes/client-node';
import { renderCrds } from '../../src/api/crd.ts';
import { GROUP, PLURAL, VERSION } from '../../src/api/scaledobject.ts';
import { KubeClient } from '../../src/platform/kubernetes/client.ts';
import { loadKubeConfig } from '../../src/platform/kubernetes/kubeconfig.ts';
import { scaledObjectsPath } from '../../src/platform/kubernetes/scaledobjects.ts';
import { installCrd } from '../controller/cluster.ts';
import { closedWindow, openWindow, scaledObjectManifest } from '../controller/manifests.ts';
import { startKube } from '../env/kube.ts';
import { chartNodeFlags, compileForBench, pool, sleep } from './common.ts';
import { type Args, createDeployment, log, NAMESPACE, parseArgs, post } from './controller-common.ts';

/**
 * Through ebb's KubeClient, not client-node's typed APIs: those build a new undici Agent, so a
 * new TLS connection and handshake (on the API server's cores too), for every request; ebb's
 * client keeps one pool of kept-alive connections (see client.ts). Each worker creates a
 * Deployment and then its ScaledObject, so both kinds share the whole run's concurrency.
 */
const createObjects = async (kc: KubeConfig, kubeconfigPath: string, args: Args): Promise<void> => {
  const n = args.objects;
  await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: NAMESPACE } } });
  const client = new KubeClient(loadKubeConfig({ path: kubeconfigPath }));
  const scaledObjects = scaledObjectsPath(NAMESPACE);
  const names = Array.from({ length: n }, (_, i) => `app-${String(i).padStart(5, '0')}`);
  let done = 0;
  const started = performance.now();
  const progress = setInterval(
    () =>
      log(
        `created ${done} of ${n} ScaledObjects (and Deployments) in ${((performance.now() - started) / 1000).toFixed(0)} s`,
      ),
    30_000,
  );
  try {
    await pool(names, args.createConcurrency, async (name) => {
      await createDeployment(client, name);
      const open = Number(name.slice(4)) % 2 === 0;
      const body = scaledObjectManifest(NAMESPACE, name, {
        triggers: [{ type: 'cron', metadata: open ? openWindow(1) : closedWindow(1) }],
        spec: { pollingInterval: args.pollingInterval },
      });
      await post(client, scaledObjects, body);
      done++;
    });
  } finally {
    clearInterval(progress);
    await client.close();
  }
};

const installOtherCrds = async (kc: KubeConfig): Promise<void> => {
  const ext = kc.makeApiClient(ApiextensionsV1Api);
  for (const crd of loadAllYaml(renderCrds()) as V1CustomResourceDefinition[]) {
    if (crd.spec.names.plural === PLURAL) continue;
    await ext.createCustomResourceDefinition({ body: crd });
  }
  const objects = kc.makeApiClient(CustomObjectsApi);
  for (const plural of ['triggerauthentications', 'clustertriggerauthentications']) {
    for (let tries = 0; ; tries++) {
      try {
        await objects.listClusterCustomObject({ group: GROUP, version: VERSION, plural, limit: 1 });
        break;
      } catch (err) {
        if (tries > 100) throw err;
        await sleep(100);
      }
    }
  }
};

/**
 * `--container-memory-mb`: the image's rule (Dockerfile, `--max-old-space-size-percentage=50` of
 * the cgroup's limit) for a pod with that limit, as an explicit old-space size (this machine's
 * cgroup has none); appended to NODE_OPTIONS, so it wins over an earlier size there.
 */
const heapFromContainer = (mb: number): { NODE_OPTIONS?: string } =>
  mb === 0
    ? {}
    : { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --max-old-space-size=${Math.floor(mb / 2)}`.trim() };

const parent = async (args: Args): Promise<void> => {
  // Before the API server starts: tsc's CPU does not slow the objects' creation.
  const compiled = compileForBench('controller', 'test/bench/controller-child.ts', log);
  const kube = await startKube();
  try {
    const kc = new KubeConfig();
    kc.loadFromFile(kube.kubeconfigPath);
    await installCrd(kc);
    // The (Cluster)TriggerAuthentication CRDs too, as `ebb crds` and the chart install them:
    // without them ebb's informers for both get 404 and retry every 30 s (idle GETs).
    await installOtherCrds(kc);
    const creating = performance.now();
    await createObjects(kc, kube.kubeconfigPath, args);
    log(`created in ${((performance.now() - creating) / 1000).toFixed(1)} s`);
    const createdAt = Date.now();
    const childArgs = [
      ...chartNodeFlags('controller'),
      ...(process.env.EBB_BENCH_MEMORY === undefined ? [] : ['--expose-gc']),
      compiled,
      '--child',
      '--kubeconfig',
      kube.kubeconfigPath,
      '--objects',
      String(args.objects),
      '--duration',
      String(args.duration),
      '--scaler',
      args.scaler,
      '--max-concurrent-polls',
      String(args.maxConcurrentPolls),
      '--polling-interval',
      String(args.pollingInterval),
      '--created-at',
      String(createdAt),
    ];
    log(
      `controller: ${args.objects} objects, pollingInterval ${args.pollingInterval} s, measuring ${args.duration} s after warm-up`,
    );
    const out = await new Promise<string>((resolve, reject) => {
      const p = spawn(process.execPath, childArgs, {
        stdio: ['ignore', 'pipe', 'inherit'],
        env: { ...process.env, NODE_ENV: 'production', ...heapFromContainer(args.containerMemoryMb) },
      });
      let text = '';
      p.stdout.on('data', (d: Buffer) => {
        text += d.toString();
      });
      p.on('error', reject);
      p.on('close', (code) =>
        code === 0 ? resolve(text) : reject(new Error(`controller exited with ${code}`)),
      );
    });
    // The controller's own log (EBB_BENCH_LOG) to stderr; its last line is the result.
    const lines = out.trim().split('\n');
    const line = lines.pop() ?? '{}';
    if (lines.length > 0) process.stderr.write(`${lines.join('\n')}\n`);
    process.stdout.write(
      `${JSON.stringify({ ...JSON.parse(line), targets: 'one Deployment per ScaledObject' })}\n`,
    );
  } finally {
    await kube.stop();
  }
};

const args = parseArgs(process.argv.slice(2));
// `--child` (the parent passes it) runs the controller side here, under whatever loader runs this.
if (args.child) await import('./controller-child.ts');
else await parent(args);
