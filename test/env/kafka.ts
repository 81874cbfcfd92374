// A real single-node Apache Kafka broker (KRaft, broker and controller in one JVM) for
// integration tests. Its jars come from Maven Central (`org.apache.kafka:kafka_2.13` plus an
// SLF4J binding, see kafka/pom.xml), resolved once per version into ~/.cache/ebb/kafka/<v>/libs;
// it runs on the machine's Java 17 and binds 127.0.0.1 only.
import { createHash, randomBytes } from 'node:crypto';
import { access, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka as KafkaClient, logLevel } from 'kafkajs';
import {
  freePorts,
  log,
  type ManagedProcess,
  makeTempDir,
  removeDir,
  run,
  since,
  startProcess,
  waitUntil,
} from './proc.ts';
import type { EnvService } from './service.ts';

/** 3.9.x: the last line before 4.0 removed old protocol versions; kafkajs 2.2.4 is proven against it. */
export const KAFKA_VERSION = process.env.EBB_KAFKA_VERSION ?? '3.9.2';

const CACHE = process.env.EBB_CACHE ?? join(homedir(), '.cache', 'ebb');
const POM = fileURLToPath(new URL('./kafka/pom.xml', import.meta.url));
// Pinned: `mvn dependency:copy-dependencies` would otherwise pick whatever Maven's defaults say.
const DEPENDENCY_PLUGIN = 'org.apache.maven.plugins:maven-dependency-plugin:3.8.1';
const START_TIMEOUT_MS = 120_000;
const STOP_GRACE_MS = 30_000;

/** How a test reaches the broker; plain data, so it can cross into test workers. */
export interface KafkaConnection {
  /** `127.0.0.1:<port>`, the PLAINTEXT listener (kafkajs `brokers: [brokers]`). */
  brokers: string;
  /** Apache Kafka version of the broker. */
  version: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** Present when global-setup.ts started the `kafka` service. */
    ebbKafka: KafkaConnection;
  }
}

export interface RunningKafka extends KafkaConnection {
  /** Temp dir with server.properties, the log4j config, data (`data/`) and `kafka.log`. */
  readonly dir: string;
  /** The broker's JVM while it runs. */
  readonly process: ManagedProcess | undefined;
  /** Stops the broker (controlled shutdown); ports and data stay reserved for `startBroker`. */
  stopBroker(): Promise<void>;
  /** Starts the broker again on the same ports and data dir; resolves when it serves metadata. */
  startBroker(): Promise<void>;
  /** `stopBroker()` then `startBroker()`. */
  restart(): Promise<void>;
  /** Stops the broker and removes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

export interface StartKafkaOptions {
  version?: string;
  /** Extra `server.properties` lines (`key=value`), appended (later keys win). */
  properties?: Readonly<Record<string, string | number | boolean>>;
}

function major(version: string): number {
  return Number.parseInt(version.split('.')[0] ?? '', 10);
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

function javaCommand(): string {
  const home = process.env.JAVA_HOME;
  return home === undefined || home === '' ? 'java' : join(home, 'bin', 'java');
}

/**
 * The directory holding Kafka `version`'s runtime jars, resolved with Maven when missing or when
 * kafka/pom.xml changed since (its hash is stamped into the directory). The jars land in a
 * scratch directory first and are renamed into place, so a half-finished download never counts.
 */
export async function ensureKafkaJars(version = KAFKA_VERSION): Promise<string> {
  const versionDir = join(CACHE, 'kafka', version);
  const libs = join(versionDir, 'libs');
  const stamp = createHash('sha256')
    .update(await readFile(POM))
    .digest('hex');
  const stampFile = '.pom-sha256';
  const cached = async (dir: string) =>
    (await exists(join(dir, `kafka_2.13-${version}.jar`))) &&
    (await readFile(join(dir, stampFile), 'utf8').catch(() => '')) === stamp;
  if (await cached(libs)) return libs;
  const start = performance.now();
  const partial = join(versionDir, `libs.partial-${process.pid}`);
  await rm(partial, { recursive: true, force: true });
  await mkdir(versionDir, { recursive: true });
  log(`resolving Apache Kafka ${version} jars with Maven into ${libs}`);
  const mvn = run('mvn', [
    '-B',
    '-q',
    '-Dstyle.color=never',
    '-f',
    POM,
    `-Dkafka.version=${version}`,
    `-Dkafka.logging=${major(version) >= 4 ? 'log4j2' : 'reload4j'}`,
    `${DEPENDENCY_PLUGIN}:copy-dependencies`,
    '-DincludeScope=runtime',
    `-DoutputDirectory=${partial}`,
  ]);
  await mvn.catch(async (error: unknown) => {
    await rm(partial, { recursive: true, force: true });
    throw error;
  });
  if (!(await exists(join(partial, `kafka_2.13-${version}.jar`)))) {
    throw new Error(`mvn resolved no kafka_2.13-${version}.jar into ${partial}`);
  }
  await writeFile(join(partial, stampFile), stamp);
  if (!(await cached(libs))) await rm(libs, { recursive: true, force: true });
  try {
    await rename(partial, libs);
  } catch (error) {
    // Another run finished first: keep its copy.
    await rm(partial, { recursive: true, force: true });
    if (!(await cached(libs))) throw error;
  }
  log(`Kafka ${version} jars resolved in ${since(start)}`);
  return libs;
}

/** A KRaft cluster id: 16 random bytes, base64url without padding (Kafka's `Uuid` format). */
function clusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

function serverProperties(
  dir: string,
  port: number,
  controllerPort: number,
  extra: StartKafkaOptions['properties'],
): string {
  const props: Record<string, string | number | boolean> = {
    'node.id': 1,
    'process.roles': 'broker,controller',
    'controller.quorum.voters': `1@127.0.0.1:${controllerPort}`,
    listeners: `PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${port}`,
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'log.dirs': join(dir, 'data'),
    'num.partitions': 1,
    'default.replication.factor': 1,
    'min.insync.replicas': 1,
    'offsets.topic.replication.factor': 1,
    'offsets.topic.num.partitions': 5,
    'transaction.state.log.replication.factor': 1,
    'transaction.state.log.min.isr': 1,
    'transaction.state.log.num.partitions': 1,
    'share.coordinator.state.topic.replication.factor': 1,
    'share.coordinator.state.topic.min.isr': 1,
    'group.initial.rebalance.delay.ms': 0,
    'auto.create.topics.enable': true,
    'delete.topic.enable': true,
    ...extra,
  };
  return `${Object.entries(props)
    .map(([key, value]) => `${key}=${String(value)}`)
    .join('\n')}\n`;
}

/**
 * Logging config and the JVM flag that points at it: reload4j for 3.x, log4j2 for 4.x (both
 * behind SLF4J 1.7, which is what kafka_2.13 brings in either line).
 */
async function writeLogConfig(dir: string, version: string): Promise<string> {
  if (major(version) >= 4) {
    const path = join(dir, 'log4j2.properties');
    await writeFile(
      path,
      [
        'status = warn',
        'appender.out.type = Console',
        'appender.out.name = STDOUT',
        'appender.out.layout.type = PatternLayout',
        'appender.out.layout.pattern = [%d] %p %m (%c)%n',
        'rootLogger.level = INFO',
        'rootLogger.appenderRef.out.ref = STDOUT',
        'logger.kafka.name = kafka',
        'logger.kafka.level = WARN',
        'logger.apache.name = org.apache.kafka',
        'logger.apache.level = WARN',
        'logger.state.name = state.change.logger',
        'logger.state.level = WARN',
        'logger.started.name = kafka.server.KafkaRaftServer',
        'logger.started.level = INFO',
        '',
      ].join('\n'),
    );
    return `-Dlog4j2.configurationFile=${path}`;
  }
  const path = join(dir, 'log4j.properties');
  await writeFile(
    path,
    [
      'log4j.rootLogger=INFO, stdout',
      'log4j.appender.stdout=org.apache.log4j.ConsoleAppender',
      'log4j.appender.stdout.layout=org.apache.log4j.PatternLayout',
      'log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n',
      'log4j.logger.kafka=WARN',
      'log4j.logger.org.apache.kafka=WARN',
      'log4j.logger.state.change.logger=WARN',
      'log4j.logger.kafka.server.KafkaRaftServer=INFO',
      '',
    ].join('\n'),
  );
  return `-Dlog4j.configuration=file:${path}`;
}

/**
 * True once a kafkajs admin can list topics and fetch a consumer group's offsets. The latter
 * makes the broker create and load `__consumer_offsets` now: until then Kafka 4.x answers
 * offset fetches with NOT_COORDINATOR, which kafkajs does not retry.
 */
async function brokerServes(brokers: string): Promise<boolean> {
  const client = new KafkaClient({
    clientId: 'ebb-env-probe',
    brokers: [brokers],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1_000,
    requestTimeout: 2_000,
    retry: { retries: 0 },
  });
  const admin = client.admin();
  try {
    await admin.connect();
    await admin.listTopics();
    await admin.fetchOffsets({ groupId: 'ebb-env-probe' });
    return true;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/**
 * Starts a single-node KRaft broker in a fresh temp dir on free 127.0.0.1 ports and waits until
 * a kafkajs admin lists topics. Resolves the jars with Maven first when they are not cached.
 */
export async function startKafka(opts: StartKafkaOptions = {}): Promise<RunningKafka> {
  const version = opts.version ?? KAFKA_VERSION;
  const start = performance.now();
  const libs = await ensureKafkaJars(version);
  const dir = await makeTempDir('kafka');
  let proc: ManagedProcess | undefined;
  let stopped = false;
  try {
    const [port, controllerPort] = await freePorts(2);
    if (port === undefined || controllerPort === undefined) throw new Error('no free ports');
    const brokers = `127.0.0.1:${port}`;
    const configFile = join(dir, 'server.properties');
    await writeFile(configFile, serverProperties(dir, port, controllerPort, opts.properties));
    const logFlag = await writeLogConfig(dir, version);
    const jvm = [
      '-Xms256m',
      '-Xmx512m',
      '-XX:+UseG1GC',
      '-XX:MaxGCPauseMillis=20',
      '-XX:TieredStopAtLevel=1',
      '-Djava.awt.headless=true',
      '-Dkafka.logs.dir=' + join(dir, 'logs'),
      logFlag,
      '-cp',
      join(libs, '*'),
    ];

    const formatStart = performance.now();
    await run(javaCommand(), [
      ...jvm,
      'kafka.tools.StorageTool',
      'format',
      '-t',
      clusterId(),
      '-c',
      configFile,
      '--ignore-formatted',
    ]);
    log(`Kafka storage formatted in ${since(formatStart)}`);

    const startBroker = async (): Promise<void> => {
      if (proc !== undefined && proc.exit === undefined) return;
      const brokerStart = performance.now();
      proc = startProcess({
        name: 'kafka',
        command: javaCommand(),
        args: [...jvm, 'kafka.Kafka', configFile],
        logFile: join(dir, 'kafka.log'),
      });
      try {
        await waitUntil(() => brokerServes(brokers), {
          what: `Kafka ${brokers} to list topics`,
          timeoutMs: START_TIMEOUT_MS,
          intervalMs: 250,
          process: proc,
        });
      } catch (error) {
        await proc.stop();
        throw error;
      }
      log(`Kafka ${version} broker ready on ${brokers} in ${since(brokerStart)}`);
    };
    const stopBroker = async (): Promise<void> => {
      if (proc === undefined) return;
      const stopStart = performance.now();
      await proc.stop(STOP_GRACE_MS);
      log(`Kafka broker on ${brokers} stopped in ${since(stopStart)}`);
    };

    await startBroker();
    log(`Kafka ${version} started in ${since(start)} (jars, format and broker)`);
    return {
      brokers,
      version,
      dir,
      get process() {
        return proc;
      },
      stopBroker,
      startBroker,
      async restart() {
        await stopBroker();
        await startBroker();
      },
      async stop() {
        if (stopped) return;
        stopped = true;
        await stopBroker();
        await removeDir(dir);
      },
    };
  } catch (error) {
    await proc?.stop().catch(() => {});
    log(`Kafka failed to start; logs kept in ${dir}`);
    throw error;
  }
}

/**
 * The `kafka` service of global-setup.ts: one broker per run, `ebbKafka` provided to test files,
 * EBB_TEST_KAFKA_BROKERS set, and the actions `kafka/stop-broker`, `kafka/start-broker`,
 * `kafka/restart` (same port and data).
 */
export const kafkaService: EnvService = {
  name: 'kafka',
  async start(ctx) {
    const kafka = await startKafka();
    const connection: KafkaConnection = { brokers: kafka.brokers, version: kafka.version };
    ctx.provide('ebbKafka', connection);
    ctx.setEnv('EBB_TEST_KAFKA_BROKERS', kafka.brokers);
    ctx.registerAction('stop-broker', async () => {
      await kafka.stopBroker();
      return connection;
    });
    ctx.registerAction('start-broker', async () => {
      await kafka.startBroker();
      return connection;
    });
    ctx.registerAction('restart', async () => {
      await kafka.restart();
      return connection;
    });
    return kafka;
  },
};
