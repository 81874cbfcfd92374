// Broker benchmark: the controller with real scalers against a real kube-apiserver, one real
// Kafka broker and one real RabbitMQ node (test/env's startKube/startKafka/startRabbitMQ, not
// vitest).
//
//   node --import tsx test/bench/brokers.bench.ts          1,000 Kafka + 1,000 RabbitMQ ScaledObjects
//   ... --objects 500 --duration 20                        (per broker; seconds measured)
//
// Every ScaledObject polls at pollingInterval 1 and has its own Deployment. Kafka objects read
// one of 10 empty topics (3 partitions) as one of 20 consumer groups that never committed
// (offsetResetPolicy earliest: lag 0); RabbitMQ objects
// read one of 10 queues over AMQP (5 messages each: 1 replica). The controller runs in a child
// process (its CPU and RSS are its own). After a warm-up it measures for `--duration` seconds:
//   connections — Kafka admin clients open in the scaler's pool + AMQP connections named `ebb`
//                 that the broker lists (/api/connections); target: one per broker
//   source reads per second (scaler reads, both types), controller CPU and peak RSS,
//   poll lateness (actual poll start − due time) p50/p99.
// The LAST line printed is one JSON object.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { AppsV1Api, CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { connect } from 'amqplib';
import { Kafka, logLevel } from 'kafkajs';
import { createScalerDeps } from '../../scalers/index.ts';
import { GROUP, PLURAL, VERSION } from '../../src/api/scaledobject.ts';
import { runController } from '../../src/cli/controller-wiring.ts';
import { createLogger, silentLogger } from '../../src/logging.ts';
import type { Scaler } from '../../src/scaler.ts';
import { installCrd } from '../controller/cluster.ts';
import { scaledObjectManifest } from '../controller/manifests.ts';
import { startKafka } from '../env/kafka.ts';
import { startKube } from '../env/kube.ts';
import { startRabbitMQ } from '../env/rabbitmq.ts';
import { idleDeployment, percentile, pool, round, sleep, writesSettled } from './common.ts';

const NAMESPACE = 'bench-brokers';
const TOPICS = 10;
const GROUPS = 20;
const QUEUES = 10;

interface Args {
  objects: number;
  duration: number;
  child: boolean;
  kubeconfig: string;
  rabbit: string;
}

const parseArgs = (argv: readonly string[]): Args => {
  const args: Args = { objects: 1000, duration: 30, child: false, kubeconfig: '', rabbit: '' };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1] ?? '';
    if (flag === '--objects') args.objects = Number(value);
    else if (flag === '--duration') args.duration = Number(value);
    else if (flag === '--kubeconfig') args.kubeconfig = value;
    else if (flag === '--rabbit') args.rabbit = value;
    else if (flag === '--child') {
      args.child = true;
      continue;
    } else continue;
    i++;
  }
  if (!Number.isInteger(args.objects) || args.objects < 1)
    throw new Error('--objects must be a whole number >= 1');
  if (!(args.duration > 0)) throw new Error('--duration must be > 0');
  return args;
};

const log = (msg: string) => process.stderr.write(`[bench:brokers] ${msg}\n`);
interface RabbitInfo {
  amqpUrl: string;
  managementUrl: string;
  username: string;
  password: string;
}

const triggerFor = (name: string, i: number, kafkaBrokers: string, rabbit: RabbitInfo) =>
  name.startsWith('kafka-')
    ? {
        type: 'kafka',
        metadata: {
          bootstrapServers: kafkaBrokers,
          topic: `topic-${i % TOPICS}`,
          consumerGroup: `group-${i % GROUPS}-t${i % TOPICS}`,
          lagThreshold: '5',
          // Groups that never committed, on empty topics: lag 0 (no 200 slow group joins to set up).
          offsetResetPolicy: 'earliest',
        },
      }
    : {
        type: 'rabbitmq',
        metadata: {
          host: rabbit.amqpUrl,
          queueName: `queue-${i % QUEUES}`,
          mode: 'QueueLength',
          value: '10',
        },
      };

const createObjects = async (kc: KubeConfig, n: number, kafkaBrokers: string, rabbit: RabbitInfo) => {
  await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: NAMESPACE } } });
  const apps = kc.makeApiClient(AppsV1Api);
  const objects = kc.makeApiClient(CustomObjectsApi);
  const names: (readonly [string, number])[] = [];
  for (const kind of ['kafka', 'rabbit']) {
    for (let i = 0; i < n; i++) names.push([`${kind}-${String(i).padStart(5, '0')}`, i]);
  }
  const started = performance.now();
  await pool(names, 48, async ([name, i]) => {
    await apps
      .createNamespacedDeployment({ namespace: NAMESPACE, body: idleDeployment(name) })
      .catch((err: unknown) => {
        if (!String(err).includes('AlreadyExists')) throw err;
      });
    await objects
      .createNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: NAMESPACE,
        plural: PLURAL,
        body: scaledObjectManifest(NAMESPACE, name, {
          triggers: [triggerFor(name, i, kafkaBrokers, rabbit)],
        }),
      })
      .catch((err: unknown) => {
        if (!String(err).includes('AlreadyExists')) throw err;
      });
  });
  log(`${2 * n} Deployments + ScaledObjects in ${((performance.now() - started) / 1000).toFixed(1)} s`);
};

/** Empty topics with 3 partitions; queues with 5 messages. */
const prepareSources = async (kafkaBrokers: string, rabbit: RabbitInfo) => {
  const kafka = new Kafka({
    clientId: 'ebb-bench-setup',
    brokers: [kafkaBrokers],
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: Array.from({ length: TOPICS }, (_, t) => ({
        topic: `topic-${t}`,
        numPartitions: 3,
        replicationFactor: 1,
      })),
      waitForLeaders: true,
    });
  } finally {
    await admin.disconnect();
  }
  const model = await connect(rabbit.amqpUrl, { clientProperties: { connection_name: 'ebb-bench-setup' } });
  const channel = await model.createConfirmChannel();
  for (let q = 0; q < QUEUES; q++) {
    await channel.assertQueue(`queue-${q}`, { durable: true });
    for (let m = 0; m < 5; m++) channel.sendToQueue(`queue-${q}`, Buffer.from(`m${m}`));
  }
  await channel.waitForConfirms();
  await model.close();
};

/** ebb's AMQP connections as the broker lists them. */
const rabbitConnections = async (rabbit: RabbitInfo): Promise<number> => {
  const auth = Buffer.from(`${rabbit.username}:${rabbit.password}`).toString('base64');
  const res = await fetch(`${rabbit.managementUrl}/api/connections`, {
    headers: { authorization: `Basic ${auth}` },
  });
  const list = (await res.json()) as Array<{ client_properties?: { connection_name?: string } }>;
  return list.filter((c) => c.client_properties?.connection_name === 'ebb').length;
};

const child = async (args: Args): Promise<void> => {
  const rabbit = JSON.parse(args.rabbit) as RabbitInfo;
  const lateness: number[] = [];
  let measuring = false;
  let reads = 0;
  let failedReads = 0;
  const total = 2 * args.objects;
  // The controller's scalers share these pools (counted below).
  const deps = createScalerDeps();
  const kafkaClients = deps.kafka.pool;
  const running = await runController({
    kubeconfig: args.kubeconfig,
    namespace: NAMESPACE,
    log:
      process.env.EBB_BENCH_LOG === undefined
        ? silentLogger
        : createLogger({ level: process.env.EBB_BENCH_LOG }),
    onPollStart: (_key, late) => {
      if (measuring) lateness.push(late);
    },
    // The registry's own scalers, counted.
    createScaler: (resolved): Scaler => {
      const scaler = resolved.create(deps);
      return {
        metric: scaler.metric,
        read: async (now, signal) => {
          const r = await scaler.read(now, signal);
          if (measuring) {
            reads++;
            if (!r.ok) failedReads++;
          }
          return r;
        },
        close: () => scaler.close(),
      };
    },
  });
  const controller = running.controller();
  if (controller === undefined) throw new Error('no controller');
  const client = running.platform.client;
  const warm = performance.now();
  const progress = setInterval(() => {
    log(
      `polling ${controller.polling}/${total}, queued ${controller.pending}, polls ${controller.stats.polls}`,
    );
  }, 5000);
  while ((controller.polling < total || controller.pending > 0) && performance.now() - warm < 300_000) {
    await sleep(200);
  }
  await writesSettled(client, 3000, warm + 300_000);
  clearInterval(progress);
  log(`warm-up ${((performance.now() - warm) / 1000).toFixed(1)} s`);

  const cpu0 = process.cpuUsage();
  const polls0 = controller.stats.polls;
  const t0 = performance.now();
  measuring = true;
  await sleep(args.duration * 1000);
  measuring = false;
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const polls = controller.stats.polls - polls0;
  const kafkaClientsOpen = kafkaClients.stats().open;
  const amqp = await rabbitConnections(rabbit);
  const sorted = Float64Array.from(lateness).sort();
  const result = {
    objects: total,
    brokers: 2,
    connections: kafkaClientsOpen + amqp,
    kafka_admin_clients: kafkaClientsOpen,
    amqp_connections: amqp,
    source_reads_per_second: round(reads / seconds, 1),
    failed_reads: failedReads,
    polls_per_s: round(polls / seconds, 1),
    cpu_cores_used: round((cpu.user + cpu.system) / 1e6 / seconds, 2),
    rss_mb: round(process.resourceUsage().maxRSS / 1024, 1),
    poll_lateness_p50_ms: round(percentile(sorted, 50)),
    poll_lateness_p99_ms: round(percentile(sorted, 99)),
  };
  await running.stop();
  process.stdout.write(`${JSON.stringify(result)}\n`);
};

const parent = async (args: Args): Promise<void> => {
  const [kube, kafka, rabbitmq] = await Promise.all([startKube(), startKafka(), startRabbitMQ()]);
  try {
    const kc = new KubeConfig();
    kc.loadFromFile(kube.kubeconfigPath);
    const rabbit: RabbitInfo = {
      amqpUrl: rabbitmq.amqpUrl,
      managementUrl: rabbitmq.managementUrl,
      username: rabbitmq.username,
      password: rabbitmq.password,
    };
    await installCrd(kc);
    await prepareSources(kafka.brokers, rabbit);
    await createObjects(kc, args.objects, kafka.brokers, rabbit);
    const self = fileURLToPath(import.meta.url);
    const childArgs = [
      '--import',
      'tsx',
      self,
      '--child',
      '--kubeconfig',
      kube.kubeconfigPath,
      '--objects',
      String(args.objects),
      '--duration',
      String(args.duration),
      '--rabbit',
      JSON.stringify(rabbit),
    ];
    log(`controller: ${args.objects} Kafka + ${args.objects} RabbitMQ objects, pollingInterval 1 s`);
    const out = await new Promise<string>((resolve, reject) => {
      const p = spawn(process.execPath, childArgs, { stdio: ['ignore', 'pipe', 'inherit'] });
      let text = '';
      p.stdout.on('data', (d: Buffer) => {
        text += d.toString();
      });
      p.on('error', reject);
      p.on('close', (code) =>
        code === 0 ? resolve(text) : reject(new Error(`controller exited with ${code}`)),
      );
    });
    process.stdout.write(`${out.trim().split('\n').pop() ?? '{}'}\n`);
  } finally {
    await Promise.all([kube.stop(), kafka.stop(), rabbitmq.stop()]);
  }
};

const args = parseArgs(process.argv.slice(2));
await (args.child ? child(args) : parent(args));
