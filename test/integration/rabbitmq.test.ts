// The rabbitmq scaler against a real RabbitMQ node (test/env/rabbitmq.ts): queue depth over AMQP
// and over the management API, a missing queue on a shared connection, 200 triggers on one AMQP
// connection (counted by the broker), MessageRate while publishing, and a broker that stops and
// comes back. Everything lives in a vhost of its own. Uses the run's broker from global-setup.ts
// when it provides one and starts its own otherwise.
import { randomBytes } from 'node:crypto';
import { connect } from 'amqplib';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { createScalerDeps, resolveTrigger } from '../../scalers/index.ts';
import type { Scaler } from '../../src/scaler.ts';
import { publishMessages, type RabbitMQConnection, startRabbitMQ } from '../env/rabbitmq.ts';
import { envAction } from '../env/testing.ts';

interface Broker {
  readonly connection: RabbitMQConnection;
  stopBroker(): Promise<void>;
  startBroker(): Promise<void>;
  stop(): Promise<void>;
}

async function useBroker(): Promise<Broker> {
  const provided = inject('ebbRabbitMQ');
  if (provided !== undefined) {
    return {
      connection: provided,
      stopBroker: async () => {
        await envAction('rabbitmq/stop-broker');
      },
      startBroker: async () => {
        await envAction('rabbitmq/start-broker');
      },
      stop: async () => {},
    };
  }
  const own = await startRabbitMQ();
  return { connection: own, stopBroker: own.stopBroker, startBroker: own.startBroker, stop: own.stop };
}

let broker: Broker;
let conn: RabbitMQConnection;
const vhost = `ebb-rmq-${randomBytes(3).toString('hex')}`;
const vhostPath = encodeURIComponent(vhost);
const scalers: Scaler[] = [];

const api = async (path: string, init: RequestInit = {}): Promise<Response> => {
  const auth = Buffer.from(`${conn.username}:${conn.password}`).toString('base64');
  const res = await fetch(`${conn.managementUrl}${path}`, {
    ...init,
    headers: { authorization: `Basic ${auth}`, 'content-type': 'application/json' },
    signal: AbortSignal.timeout(10_000),
  });
  if (res.status >= 400)
    throw new Error(`${init.method ?? 'GET'} ${path}: ${res.status} ${await res.text()}`);
  return res;
};

const publish = (queue: string, count: number, targetVhost = vhost) =>
  publishMessages(conn, targetVhost, queue, count);

/** This file's pools, as one controller's ScalerDeps holds them. */
const deps = createScalerDeps();
const amqpConnections = deps.rabbitmq.amqp;

/** A scaler built through the registry, as the controller builds it. */
function scaler(
  metadata: Record<string, string>,
  authParams: Record<string, string> = {},
  index = 0,
): Scaler {
  const trigger = {
    type: 'rabbitmq',
    metadata,
    ...(Object.keys(authParams).length > 0 ? { authenticationRef: { name: 'rabbit-auth' } } : {}),
  };
  const resolved = resolveTrigger(trigger, index, authParams);
  if (!resolved.ok) throw new Error(JSON.stringify(resolved.error));
  const created = resolved.value.create(deps);
  scalers.push(created);
  return created;
}

const read = (s: Scaler) => s.read(new Date(), AbortSignal.timeout(15_000));

const closeAll = async () => {
  await Promise.all(scalers.splice(0).map((s) => s.close()));
};

/** ebb's AMQP connections into this file's vhost, as the broker lists them. */
async function ebbConnections(): Promise<number> {
  const list = (await (await api('/api/connections')).json()) as Array<{
    vhost?: string;
    client_properties?: { connection_name?: string };
  }>;
  return list.filter((c) => c.vhost === vhost && c.client_properties?.connection_name === 'ebb').length;
}

const amqpHost = () => `${conn.amqpUrl}/${vhostPath}`;
const httpHost = () => `${conn.managementUrl}/${vhostPath}`;

beforeAll(async () => {
  broker = await useBroker();
  conn = broker.connection;
  await api(`/api/vhosts/${vhostPath}`, { method: 'PUT', body: '{}' });
  await api(`/api/permissions/${vhostPath}/${encodeURIComponent(conn.username)}`, {
    method: 'PUT',
    body: JSON.stringify({ configure: '.*', write: '.*', read: '.*' }),
  });
  await publish('orders', 35);
  await publish('ebb-default-vhost-orders', 3, '/');
});

afterAll(async () => {
  await closeAll();
  if (conn !== undefined) {
    await api(`/api/vhosts/${vhostPath}`, { method: 'DELETE' }).catch(() => {});
    await api('/api/queues/%2F/ebb-default-vhost-orders', { method: 'DELETE' }).catch(() => {});
  }
  await broker?.stop();
});

describe('rabbitmq scaler on a real broker', () => {
  it('reads 35 messages over AMQP (passive declare) and over the management API', async () => {
    const overAmqp = scaler({ host: amqpHost(), queueName: 'orders', mode: 'QueueLength', value: '10' });
    expect(await read(overAmqp)).toEqual({ ok: true, value: { value: 35, active: true } });

    // Credentials from the authenticationRef, the vhost from the host's path; stats may lag.
    const overHttp = scaler(
      { protocol: 'http', queueName: 'orders', activationValue: '40' },
      { host: httpHost(), username: conn.username, password: conn.password },
    );
    await vi.waitFor(
      async () => expect(await read(overHttp)).toEqual({ ok: true, value: { value: 35, active: false } }),
      {
        timeout: 20_000,
        interval: 500,
      },
    );

    // The default vhost over both protocols (`%2F` in the management path).
    const defaultAmqp = scaler({ host: conn.amqpUrl, queueName: 'ebb-default-vhost-orders' });
    const defaultHttp = scaler({
      host: conn.managementUrl.replace('http://', `http://${conn.username}:${conn.password}@`),
      queueName: '^ebb-default-vhost-.*$',
      useRegex: 'true',
    });
    expect(await read(defaultAmqp)).toEqual({ ok: true, value: { value: 3, active: true } });
    await vi.waitFor(
      async () => expect(await read(defaultHttp)).toEqual({ ok: true, value: { value: 3, active: true } }),
      {
        timeout: 20_000,
        interval: 500,
      },
    );
    await closeAll();
  });

  it('reports a missing queue by name, and the shared connection keeps serving the next read', async () => {
    const missing = scaler({ host: amqpHost(), queueName: 'no-such-queue' });
    const existing = scaler({ host: amqpHost(), queueName: 'orders' });
    const first = await read(missing);
    expect(first).toEqual({
      ok: false,
      error: {
        reason: 'RabbitMQError',
        message: expect.stringMatching(
          /^queue "no-such-queue" not found in vhost "ebb-rmq-\w+" on amqp:\/\/127\.0\.0\.1:\d+ /,
        ),
      },
    });
    expect(JSON.stringify(first)).not.toContain(conn.password);
    expect(await read(existing)).toEqual({ ok: true, value: { value: 35, active: true } });
    expect(await read(missing)).toMatchObject({ ok: false });
    expect(await read(existing)).toEqual({ ok: true, value: { value: 35, active: true } });
    expect(amqpConnections.size).toBe(1);
    await vi.waitFor(async () => expect(await ebbConnections()).toBe(1), { timeout: 10_000, interval: 250 });

    const overHttp = scaler({
      host: httpHost().replace('http://', `http://${conn.username}:${conn.password}@`),
      queueName: 'no-such-queue',
    });
    expect(await read(overHttp)).toEqual({
      ok: false,
      error: {
        reason: 'RabbitMQError',
        message: expect.stringMatching(/^queue "no-such-queue" not found in vhost "ebb-rmq-\w+"/),
      },
    });
    await closeAll();
    await vi.waitFor(async () => expect(await ebbConnections()).toBe(0), { timeout: 10_000, interval: 250 });
  });

  it('serves 200 triggers on the same broker with exactly one AMQP connection', async () => {
    await publish('orders-2', 2);
    const many = Array.from({ length: 200 }, (_, i) =>
      scaler({ host: amqpHost(), queueName: i % 2 === 0 ? 'orders' : 'orders-2' }, {}, i % 100),
    );
    const reads = await Promise.all(many.map(read));
    expect(reads.filter((r) => !r.ok)).toEqual([]);
    expect(reads.map((r) => (r.ok ? r.value.value : -1)).slice(0, 4)).toEqual([35, 2, 35, 2]);
    expect(amqpConnections.size).toBe(1);
    expect(amqpConnections.users()).toEqual([200]);
    // The broker's view: exactly one connection named "ebb" in this vhost, also after a second round.
    await vi.waitFor(async () => expect(await ebbConnections()).toBe(1), { timeout: 10_000, interval: 250 });
    expect((await Promise.all(many.map(read))).every((r) => r.ok)).toBe(true);
    expect(await ebbConnections()).toBe(1);
    await closeAll();
    expect(amqpConnections.size).toBe(0);
    await vi.waitFor(async () => expect(await ebbConnections()).toBe(0), { timeout: 10_000, interval: 250 });
  });

  it('MessageRate gives a positive publish rate while messages are published', async () => {
    await publish('rates', 0);
    const rate = scaler(
      { protocol: 'http', queueName: 'rates', mode: 'MessageRate', value: '5' },
      { host: httpHost(), username: conn.username, password: conn.password },
    );
    // The regex read asks only for the columns it reads (`columns=`), rates among them.
    const regexRate = scaler(
      { protocol: 'http', queueName: '^rat.s$', useRegex: 'true', mode: 'MessageRate', value: '5' },
      { host: httpHost(), username: conn.username, password: conn.password },
    );
    const model = await connect(`${conn.amqpUrl}/${vhostPath}`, {
      clientProperties: { connection_name: 'ebb-test-setup' },
    });
    model.on('error', () => {});
    const channel = await model.createChannel();
    const publisher = setInterval(() => {
      for (let i = 0; i < 20; i++) channel.sendToQueue('rates', Buffer.from('x'));
    }, 100);
    try {
      let last: unknown;
      await vi.waitFor(
        async () => {
          last = await read(rate);
          expect(last).toMatchObject({ ok: true, value: { active: true } });
          expect((last as { value: { value: number } }).value.value).toBeGreaterThan(0);
          const viaRegex = await read(regexRate);
          expect(viaRegex).toMatchObject({ ok: true, value: { active: true } });
          expect((viaRegex as { value: { value: number } }).value.value).toBeGreaterThan(0);
        },
        { timeout: 30_000, interval: 1000 },
      );
    } finally {
      clearInterval(publisher);
      await model.close();
    }
    await closeAll();
  });

  it('fails while the broker is stopped and recovers, with the same scalers, when it is back', async () => {
    const overAmqp = scaler({ host: amqpHost(), queueName: 'orders' });
    const overHttp = scaler(
      { protocol: 'http', queueName: 'orders' },
      { host: httpHost(), username: conn.username, password: conn.password },
    );
    expect(await read(overAmqp)).toMatchObject({ ok: true, value: { value: 35 } });

    await broker.stopBroker();
    try {
      const down = await read(overAmqp);
      expect(down).toMatchObject({
        ok: false,
        error: {
          reason: 'RabbitMQError',
          message: expect.stringMatching(/cannot read queue "orders" on amqp:\/\/127\.0\.0\.1:\d+/),
        },
      });
      expect(JSON.stringify(down)).not.toContain(conn.password);
      expect(await read(overHttp)).toMatchObject({
        ok: false,
        error: {
          reason: 'RabbitMQError',
          message: expect.stringMatching(/cannot read queue "orders" from the management API at http:/),
        },
      });
    } finally {
      await broker.startBroker();
    }

    // Durable queue, persistent messages: the depth is back once the node has recovered it.
    await vi.waitFor(
      async () => expect(await read(overAmqp)).toEqual({ ok: true, value: { value: 35, active: true } }),
      {
        timeout: 60_000,
        interval: 500,
      },
    );
    await vi.waitFor(
      async () => expect(await read(overHttp)).toMatchObject({ ok: true, value: { value: 35 } }),
      {
        timeout: 60_000,
        interval: 500,
      },
    );
    expect(amqpConnections.size).toBe(1);
    await closeAll();
  });
});
