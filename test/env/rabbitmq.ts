// A real RabbitMQ node (Debian's rabbitmq-server, with the management plugin) for integration
// tests. It runs in the foreground from /usr/lib/rabbitmq/bin (not the /usr/sbin wrappers, which
// switch user as root), with every file in a temp dir (HOME and its Erlang cookie included), a
// unique node name, and its own epmd on a private port: everything binds 127.0.0.1 and nothing
// of the machine's (a system node, a system epmd) is used or touched.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { access, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from 'amqplib';
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

const RABBITMQ_BIN = '/usr/lib/rabbitmq/bin';
const RABBITMQ_SERVER = join(RABBITMQ_BIN, 'rabbitmq-server');
const RABBITMQCTL = join(RABBITMQ_BIN, 'rabbitmqctl');
const INSTALL_SCRIPT = fileURLToPath(new URL('./install-brokers.sh', import.meta.url));
const START_TIMEOUT_MS = 120_000;

/** How a test reaches the node; plain data, so it can cross into test workers. */
export interface RabbitMQConnection {
  /** `amqp://user:pass@127.0.0.1:<port>` (default vhost `/`), for amqplib's `connect`. */
  amqpUrl: string;
  /** `http://127.0.0.1:<port>`, the management API (`/api/...`), basic auth with the credentials below. */
  managementUrl: string;
  /** An administrator with full permissions on `/`. */
  username: string;
  password: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** Present when global-setup.ts started the `rabbitmq` service. */
    ebbRabbitMQ: RabbitMQConnection;
  }
}

export interface RunningRabbitMQ extends RabbitMQConnection {
  /** Erlang node name, `ebb-test-<pid>-<hex>@localhost`. */
  readonly nodeName: string;
  /** Temp dir: HOME (cookie), config, mnesia data and logs. */
  readonly dir: string;
  /** The rabbitmq-server launcher while it runs. */
  readonly process: ManagedProcess | undefined;
  /** Stops the node (`rabbitmqctl stop`); ports, node name and data stay for `startBroker`. */
  stopBroker(): Promise<void>;
  /** Starts the node again with the same ports and data; resolves when the management API answers. */
  startBroker(): Promise<void>;
  /** `stopBroker()` then `startBroker()`. */
  restart(): Promise<void>;
  /** Stops the node and its epmd and removes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** Installs Debian's rabbitmq-server with install-brokers.sh when it is missing. */
export async function ensureRabbitMQ(): Promise<void> {
  if (await exists(RABBITMQ_SERVER)) return;
  const start = performance.now();
  log(`${RABBITMQ_SERVER} missing: running ${INSTALL_SCRIPT}`);
  await run('bash', [INSTALL_SCRIPT]);
  log(`rabbitmq-server installed in ${since(start)}`);
}

/** Like proc.ts `run`, with an environment (rabbitmqctl needs the node's HOME and epmd port). */
function runWithEnv(command: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(output);
      else reject(new Error(`${command} ${args.join(' ')} exited with ${code}:\n${output}`));
    });
  });
}

function basicAuth(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

/**
 * Starts a fresh RabbitMQ node on free 127.0.0.1 ports (AMQP, management, distribution, epmd)
 * and waits until `GET /api/overview` answers with the node's name.
 */
export async function startRabbitMQ(): Promise<RunningRabbitMQ> {
  const start = performance.now();
  await ensureRabbitMQ();
  const dir = await makeTempDir('rabbitmq');
  const cleanup: ManagedProcess[] = [];
  try {
    const [amqpPort, managementPort, distPort, epmdPort] = await freePorts(4);
    if (
      amqpPort === undefined ||
      managementPort === undefined ||
      distPort === undefined ||
      epmdPort === undefined
    ) {
      throw new Error('no free ports');
    }
    const nodeName = `ebb-test-${process.pid}-${randomBytes(3).toString('hex')}@localhost`;
    const username = 'ebb';
    const password = randomBytes(12).toString('hex');
    const home = join(dir, 'home');
    await mkdir(home, { recursive: true });
    await mkdir(join(dir, 'log'), { recursive: true });
    // Our own cookie, so rabbitmqctl (same HOME) and the node agree without touching ~/.erlang.cookie.
    await writeFile(join(home, '.erlang.cookie'), randomBytes(20).toString('hex').toUpperCase(), {
      mode: 0o400,
    });
    const configFile = join(dir, 'rabbitmq.conf');
    await writeFile(
      configFile,
      [
        `listeners.tcp.1 = 127.0.0.1:${amqpPort}`,
        'management.tcp.ip = 127.0.0.1',
        `management.tcp.port = ${managementPort}`,
        `default_user = ${username}`,
        `default_pass = ${password}`,
        'default_user_tags.administrator = true',
        'default_permissions.configure = .*',
        'default_permissions.read = .*',
        'default_permissions.write = .*',
        'loopback_users = none',
        // Management stats every second (default 5 s), so /api/queues catches up quickly.
        'collect_statistics_interval = 1000',
        'disk_free_limit.absolute = 50MB',
        'log.file.level = info',
        'log.console = false',
        '',
      ].join('\n'),
    );
    const pluginsFile = join(dir, 'enabled_plugins');
    await writeFile(pluginsFile, '[rabbitmq_management].\n');
    const confEnvFile = join(dir, 'rabbitmq-env.conf');
    await writeFile(confEnvFile, '# empty: keeps /etc/rabbitmq/rabbitmq-env.conf out\n');

    const loopback = '-kernel inet_dist_use_interface {127,0,0,1}';
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      HOME: home,
      ERL_EPMD_PORT: String(epmdPort),
      ERL_EPMD_ADDRESS: '127.0.0.1',
      RABBITMQ_NODENAME: nodeName,
      RABBITMQ_USE_LONGNAME: 'false',
      RABBITMQ_CONF_ENV_FILE: confEnvFile,
      RABBITMQ_CONFIG_FILE: configFile,
      RABBITMQ_ADVANCED_CONFIG_FILE: join(dir, 'advanced.config'),
      RABBITMQ_ENABLED_PLUGINS_FILE: pluginsFile,
      RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
      RABBITMQ_LOG_BASE: join(dir, 'log'),
      RABBITMQ_DIST_PORT: String(distPort),
      RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: loopback,
      RABBITMQ_CTL_ERL_ARGS: loopback,
    };

    // Our own epmd in the foreground (Erlang would otherwise daemonize one that outlives us).
    const epmd = startProcess({
      name: 'epmd',
      command: 'epmd',
      args: ['-port', String(epmdPort), '-address', '127.0.0.1'],
      logFile: join(dir, 'epmd.log'),
      env,
    });
    cleanup.push(epmd);
    await waitUntil(async () => (await run('epmd', ['-port', String(epmdPort), '-names'])).includes('up'), {
      what: `epmd on 127.0.0.1:${epmdPort}`,
      timeoutMs: 10_000,
      process: epmd,
    });

    const amqpUrl = `amqp://${username}:${password}@127.0.0.1:${amqpPort}`;
    const managementUrl = `http://127.0.0.1:${managementPort}`;
    const auth = basicAuth(username, password);
    let proc: ManagedProcess | undefined;
    let stopped = false;

    const stopNode = async (node: ManagedProcess): Promise<void> => {
      if (node.exit === undefined) {
        // SIGTERM to the launcher does not reliably stop the node; rabbitmqctl does.
        await runWithEnv(RABBITMQCTL, ['-n', nodeName, 'stop'], env).catch((error: unknown) => {
          log(`rabbitmqctl stop failed: ${error instanceof Error ? error.message : String(error)}`);
        });
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          node.exited,
          new Promise((resolve) => {
            timer = setTimeout(resolve, 15_000);
          }),
        ]);
        clearTimeout(timer);
      }
      // Kills leftovers of its process group (erl_child_setup, inet_gethost) too.
      await node.stop(5_000);
    };

    const startBroker = async (): Promise<void> => {
      if (proc !== undefined && proc.exit === undefined) return;
      const brokerStart = performance.now();
      const started = startProcess({
        name: 'rabbitmq',
        command: RABBITMQ_SERVER,
        args: [],
        logFile: join(dir, 'rabbitmq-server.out'),
        env,
      });
      proc = started;
      try {
        await waitUntil(
          async () => {
            const res = await fetch(`${managementUrl}/api/overview`, {
              headers: { authorization: auth },
              signal: AbortSignal.timeout(3_000),
            });
            if (res.status !== 200) return false;
            const body = (await res.json()) as { node?: string };
            return body.node === nodeName;
          },
          {
            what: `RabbitMQ ${managementUrl}/api/overview`,
            timeoutMs: START_TIMEOUT_MS,
            intervalMs: 250,
            process: started,
          },
        );
      } catch (error) {
        await stopNode(started);
        throw error;
      }
      log(`RabbitMQ node ${nodeName} ready on 127.0.0.1:${amqpPort} in ${since(brokerStart)}`);
    };

    const stopBroker = async (): Promise<void> => {
      if (proc === undefined) return;
      const stopStart = performance.now();
      await stopNode(proc);
      log(`RabbitMQ node ${nodeName} stopped in ${since(stopStart)}`);
    };

    await startBroker();
    log(`RabbitMQ started in ${since(start)}`);
    return {
      amqpUrl,
      managementUrl,
      username,
      password,
      nodeName,
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
        await epmd.stop(5_000);
        await removeDir(dir);
      },
    };
  } catch (error) {
    for (const proc of cleanup.reverse()) await proc.stop(5_000).catch(() => {});
    log(`RabbitMQ failed to start; logs kept in ${dir}`);
    throw error;
  }
}

/**
 * The `rabbitmq` service of global-setup.ts: one node per run, `ebbRabbitMQ` provided to test
 * files, EBB_TEST_RABBITMQ_URL set, and the actions `rabbitmq/stop-broker`,
 * `rabbitmq/start-broker`, `rabbitmq/restart` (same ports, node and data).
 */
export const rabbitmqService: EnvService = {
  name: 'rabbitmq',
  async start(ctx) {
    const rabbit = await startRabbitMQ();
    const connection: RabbitMQConnection = {
      amqpUrl: rabbit.amqpUrl,
      managementUrl: rabbit.managementUrl,
      username: rabbit.username,
      password: rabbit.password,
    };
    ctx.provide('ebbRabbitMQ', connection);
    ctx.setEnv('EBB_TEST_RABBITMQ_URL', rabbit.amqpUrl);
    ctx.registerAction('stop-broker', async () => {
      await rabbit.stopBroker();
      return connection;
    });
    ctx.registerAction('start-broker', async () => {
      await rabbit.startBroker();
      return connection;
    });
    ctx.registerAction('restart', async () => {
      await rabbit.restart();
      return connection;
    });
    return rabbit;
  },
};

/**
 * One call of the node's management API as its administrator (tests create vhosts, users and
 * permissions with it); a status >= 400 throws with the method, path and body.
 */
export async function rabbitmqAdmin(
  conn: RabbitMQConnection,
  path: string,
  init: RequestInit = {},
): Promise<Response> {
  const auth = Buffer.from(`${conn.username}:${conn.password}`).toString('base64');
  const res = await fetch(`${conn.managementUrl}${path}`, {
    ...init,
    headers: { authorization: `Basic ${auth}`, 'content-type': 'application/json' },
    signal: AbortSignal.timeout(10_000),
  });
  if (res.status >= 400)
    throw new Error(`${init.method ?? 'GET'} ${path}: ${res.status} ${await res.text()}`);
  return res;
}

/**
 * A setup connection (not ebb's), as the administrator: declares `queue` (durable) in `vhost` and
 * publishes `count` persistent messages, waiting for the broker's confirms.
 */
export async function publishMessages(
  conn: RabbitMQConnection,
  vhost: string,
  queue: string,
  count: number,
): Promise<void> {
  const model = await connect(`${conn.amqpUrl}/${encodeURIComponent(vhost)}`, {
    clientProperties: { connection_name: 'ebb-test-setup' },
  });
  model.on('error', () => {});
  try {
    const channel = await model.createConfirmChannel();
    await channel.assertQueue(queue, { durable: true });
    for (let i = 0; i < count; i++) channel.sendToQueue(queue, Buffer.from(`m${i}`), { persistent: true });
    await channel.waitForConfirms();
  } finally {
    await model.close();
  }
}

/** Empties `queue` in `vhost` through the management API. */
export const purgeQueue = (conn: RabbitMQConnection, vhost: string, queue: string): Promise<Response> =>
  rabbitmqAdmin(conn, `/api/queues/${encodeURIComponent(vhost)}/${encodeURIComponent(queue)}/contents`, {
    method: 'DELETE',
  });
