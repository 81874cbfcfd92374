// vitest globalSetup of the `integration` project: starts the real servers once per run (in the
// vitest main process), provides their connection info to test files (`inject`, see testing.ts),
// serves actions such as "restart kube-apiserver" on a loopback control endpoint, and stops
// everything at the end.
//
// EBB_TEST_ENV=kube,kafka selects services (default: all of them), for fast local loops.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { TestProject } from 'vitest/node';
import { kafkaService } from './kafka.ts';
import { kubeService } from './kube.ts';
import { log, since } from './proc.ts';
import { rabbitmqService } from './rabbitmq.ts';
import type { EnvAction, EnvService, RunningService, ServiceContext } from './service.ts';

// Every service global-setup can start. Later: kafkaService (./kafka.ts), rabbitmqService (./rabbitmq.ts).
const SERVICES: readonly EnvService[] = [kubeService, kafkaService, rabbitmqService];

function selectServices(): EnvService[] {
  const wanted = process.env.EBB_TEST_ENV?.trim();
  if (wanted === undefined || wanted === '' || wanted === 'all') return [...SERVICES];
  const names = wanted.split(',').map((name) => name.trim().toLowerCase());
  const unknown = names.filter((name) => !SERVICES.some((service) => service.name === name));
  if (unknown.length > 0) {
    throw new Error(
      `EBB_TEST_ENV names unknown services ${unknown.join(', ')}; known: ${SERVICES.map((s) => s.name).join(', ')}`,
    );
  }
  return SERVICES.filter((service) => names.includes(service.name));
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  let text = '';
  for await (const chunk of req) text += String(chunk);
  return text === '' ? undefined : JSON.parse(text);
}

/** A loopback HTTP server that runs registered actions for test workers. */
async function startControlServer(
  actions: Map<string, EnvAction>,
): Promise<{ server: Server; url: string; token: string }> {
  const token = randomBytes(16).toString('hex');
  const server = createServer((req, res) => {
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.headers.authorization !== `Bearer ${token}`) return reply(401, { error: 'unauthorized' });
    const name = (req.url ?? '').replace(/^\//, '');
    const action = actions.get(name);
    if (req.method !== 'POST' || action === undefined) {
      return reply(404, { error: `no action ${name}; known: ${[...actions.keys()].join(', ')}` });
    }
    const start = performance.now();
    readBody(req)
      .then((body) => action(body))
      .then(
        (result) => {
          log(`action ${name} done in ${since(start)}`);
          reply(200, { result: result ?? null });
        },
        (error: unknown) => reply(500, { error: error instanceof Error ? error.message : String(error) }),
      );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  server.unref();
  const address = server.address();
  if (address === null || typeof address !== 'object') throw new Error('control server has no port');
  return { server, url: `http://127.0.0.1:${address.port}`, token };
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const services = selectServices();
  const actions = new Map<string, EnvAction>();
  const control = await startControlServer(actions);
  project.provide('ebbEnvControl', { url: control.url, token: control.token });

  const start = performance.now();
  const running: RunningService[] = [];
  const results = await Promise.allSettled(
    services.map(async (service) => {
      const ctx: ServiceContext = {
        provide: (key, value) => project.provide(key, value),
        registerAction: (name, action) => {
          actions.set(`${service.name}/${name}`, action);
        },
        setEnv: (name, value) => {
          process.env[name] = value;
        },
      };
      const serviceStart = performance.now();
      const handle = await service.start(ctx);
      running.push(handle);
      log(`service ${service.name} up in ${since(serviceStart)}`);
      return handle;
    }),
  );

  const teardown = async () => {
    const stopStart = performance.now();
    const stops = await Promise.allSettled(running.map((service) => service.stop()));
    await new Promise<void>((resolve) => control.server.close(() => resolve()));
    control.server.closeAllConnections();
    log(`test environment stopped in ${since(stopStart)}`);
    const failed = stops.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed.length > 0)
      throw new AggregateError(
        failed.map((r) => r.reason),
        'stopping the test environment failed',
      );
  };

  const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failures.length > 0) {
    await teardown().catch(() => {});
    throw new AggregateError(
      failures.map((r) => r.reason),
      `test environment failed to start: ${failures.map((r) => String(r.reason)).join('; ')}`,
    );
  }
  project.provide(
    'ebbEnvServices',
    services.map((service) => service.name),
  );
  log(`test environment (${services.map((s) => s.name).join(', ')}) ready in ${since(start)}`);
  return teardown;
}
