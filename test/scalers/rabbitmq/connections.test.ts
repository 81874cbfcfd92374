// The shared AMQP connections against a scripted amqplib (the real broker is in
// test/integration/rabbitmq.test.ts): sharing and reference counting, the channel a missing queue
// closes, reconnecting, failing fast, timeouts, and no 'error' event left unhandled.
import { EventEmitter } from 'node:events';
import type { Channel, ChannelModel, Options, SocketOptions } from 'amqplib';
import { describe, expect, it } from 'vitest';
import type { AmqpEndpoint } from '../../../scalers/rabbitmq/broker.ts';
import { type AmqpConnect, AmqpConnections } from '../../../scalers/rabbitmq/connections.ts';

/** A scripted broker: queues and their depth, up or down, and every connection made to it. */
class FakeBroker {
  queues = new Map<string, number>([['orders', 35]]);
  up = true;
  /** checkQueue never answers while set (a hung broker). */
  hang = false;
  readonly connections: FakeConnection[] = [];
  readonly connectOptions: Array<{ options: Options.Connect; socket: SocketOptions }> = [];

  connect: AmqpConnect = async (options, socket) => {
    this.connectOptions.push({ options, socket });
    await Promise.resolve();
    if (!this.up) throw new Error('connect ECONNREFUSED 127.0.0.1:5672');
    const connection = new FakeConnection(this);
    this.connections.push(connection);
    return connection as unknown as ChannelModel;
  };

  get open(): FakeConnection[] {
    return this.connections.filter((c) => !c.closed);
  }
}

class FakeConnection extends EventEmitter {
  closed = false;
  destroyed = false;
  channels: FakeChannel[] = [];
  readonly connection = {
    stream: {
      destroy: () => {
        this.destroyed = true;
      },
    },
  };

  constructor(readonly broker: FakeBroker) {
    super();
  }

  async createChannel(): Promise<Channel> {
    if (this.closed) throw new Error('Connection closed');
    const channel = new FakeChannel(this);
    this.channels.push(channel);
    return channel as unknown as Channel;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.emit('close');
  }

  /** The broker goes away: 'error' then 'close', as amqplib emits them. */
  kill(): void {
    this.closed = true;
    this.emit('error', new Error('Connection closed: 320 (CONNECTION-FORCED)'));
    this.emit('close', new Error('Connection closed: 320 (CONNECTION-FORCED)'));
  }
}

class FakeChannel extends EventEmitter {
  closed = false;
  constructor(readonly connection: FakeConnection) {
    super();
  }

  async checkQueue(queue: string) {
    if (this.closed || this.connection.closed) throw new Error('Channel closed');
    if (this.connection.broker.hang) return new Promise<never>(() => {});
    await Promise.resolve();
    const depth = this.connection.broker.queues.get(queue);
    if (depth === undefined) {
      const error = Object.assign(
        new Error(
          `Operation failed: QueueDeclare; 404 (NOT-FOUND) with message "NOT_FOUND - no queue '${queue}' in vhost '/'"`,
        ),
        {
          code: 404,
          classId: 50,
          methodId: 10,
        },
      );
      this.closed = true;
      this.emit('error', error);
      this.emit('close');
      throw error;
    }
    return { queue, messageCount: depth, consumerCount: 0 };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.emit('close');
  }
}

const endpoint = (overrides: Partial<AmqpEndpoint> = {}): AmqpEndpoint => ({
  protocol: 'amqp',
  scheme: 'amqp',
  hostname: '127.0.0.1',
  port: 5672,
  vhost: '/',
  credentials: { username: 'ebb', password: 'sekret-pw' },
  tls: undefined,
  display: 'amqp://127.0.0.1:5672 vhost "/"',
  ...overrides,
});

const setup = (timeoutMs = 200) => {
  const broker = new FakeBroker();
  const pool = new AmqpConnections({ connect: broker.connect, timeoutMs, connectionName: 'ebb-test' });
  return { broker, pool };
};

const never = new AbortController().signal;

describe('AmqpConnections', () => {
  it('shares one connection and one channel among 200 triggers, and closes it with the last', async () => {
    const { broker, pool } = setup();
    const leases = Array.from({ length: 200 }, () => pool.acquire(endpoint()));
    expect(pool.size).toBe(1);
    expect(pool.users()).toEqual([200]);
    const reads = await Promise.all(leases.map((l) => l.checkQueue('orders', never)));
    expect(reads.every((r) => r.ok && r.value.messageCount === 35)).toBe(true);
    expect(broker.connections).toHaveLength(1);
    expect(broker.connections[0]?.channels).toHaveLength(1);

    for (const lease of leases.slice(1)) await lease.release();
    expect(broker.open).toHaveLength(1);
    await leases[0]?.release();
    await leases[0]?.release(); // idempotent
    expect(broker.open).toHaveLength(0);
    expect(pool.size).toBe(0);
  });

  it('passes the endpoint to amqplib: escaped vhost, credentials, heartbeat, timeout, connection name', async () => {
    const { broker, pool } = setup();
    const lease = pool.acquire(endpoint({ vhost: 'orders/eu' }));
    await lease.checkQueue('orders', never);
    expect(broker.connectOptions[0]).toMatchObject({
      options: {
        protocol: 'amqp',
        hostname: '127.0.0.1',
        port: 5672,
        vhost: 'orders%2Feu',
        username: 'ebb',
        password: 'sekret-pw',
        heartbeat: 10,
      },
      socket: { timeout: 200, clientProperties: { connection_name: 'ebb-test' } },
    });
    await lease.release();
  });

  it('keeps brokers, vhosts and credentials apart', async () => {
    const { pool } = setup();
    const leases = [
      pool.acquire(endpoint()),
      pool.acquire(endpoint()),
      pool.acquire(endpoint({ vhost: 'other' })),
      pool.acquire(endpoint({ credentials: { username: 'ebb', password: 'other' } })),
      pool.acquire(endpoint({ port: 5673 })),
    ];
    expect(pool.size).toBe(4);
    for (const lease of leases) await lease.release();
    expect(pool.size).toBe(0);
  });

  it('a missing queue fails that read only, naming it; the channel is reopened for the next', async () => {
    const { broker, pool } = setup();
    const lease = pool.acquire(endpoint());
    const [before, missing, after] = await Promise.all([
      lease.checkQueue('orders', never),
      lease.checkQueue('nope', never),
      lease.checkQueue('orders', never),
    ]);
    expect(before).toMatchObject({ ok: true, value: { messageCount: 35 } });
    expect(missing).toEqual({
      ok: false,
      error: {
        reason: 'RabbitMQError',
        message: 'queue "nope" not found in vhost "/" on amqp://127.0.0.1:5672 vhost "/"',
      },
    });
    expect(after).toMatchObject({ ok: true, value: { messageCount: 35 } });
    expect(broker.connections).toHaveLength(1);
    expect(broker.connections[0]?.channels).toHaveLength(2);
    await lease.release();
  });

  it('fails while the broker is down, without one connect per queued read, and reconnects when it is back', async () => {
    const { broker, pool } = setup();
    const leases = Array.from({ length: 20 }, () => pool.acquire(endpoint()));
    broker.up = false;
    const down = await Promise.all(leases.map((l) => l.checkQueue('orders', never)));
    expect(down.every((r) => !r.ok)).toBe(true);
    expect(down[0]).toMatchObject({
      ok: false,
      error: {
        reason: 'RabbitMQError',
        message:
          'cannot read queue "orders" on amqp://127.0.0.1:5672 vhost "/": cannot reach RabbitMQ (connect ECONNREFUSED 127.0.0.1:5672)',
      },
    });
    expect(broker.connectOptions).toHaveLength(1);

    broker.up = true;
    const up = await Promise.all(leases.map((l) => l.checkQueue('orders', never)));
    expect(up.every((r) => r.ok)).toBe(true);
    expect(broker.connections).toHaveLength(1);
    for (const lease of leases) await lease.release();
  });

  it('reconnects on the next read after the broker closed the connection', async () => {
    const { broker, pool } = setup();
    const lease = pool.acquire(endpoint());
    expect(await lease.checkQueue('orders', never)).toMatchObject({ ok: true });
    const first = broker.connections[0];
    expect(first).toBeDefined();
    first?.kill();
    broker.queues.set('orders', 7);
    expect(await lease.checkQueue('orders', never)).toMatchObject({ ok: true, value: { messageCount: 7 } });
    expect(broker.connections).toHaveLength(2);
    await lease.release();
    expect(broker.open).toHaveLength(0);
  });

  it('a hung broker: each read ends at the timeout, the connection is dropped, queued reads fail fast', async () => {
    const { broker, pool } = setup(100);
    const lease = pool.acquire(endpoint());
    expect(await lease.checkQueue('orders', never)).toMatchObject({ ok: true });
    broker.hang = true;
    const started = performance.now();
    const reads = await Promise.all([1, 2, 3].map(() => lease.checkQueue('orders', never)));
    expect(performance.now() - started).toBeLessThan(1000); // one timeout, not three
    expect(reads.map((r) => (r.ok ? 'ok' : r.error.message))).toEqual([
      expect.stringMatching(/no answer within 100 ms$/),
      expect.stringMatching(/no answer within 100 ms$/),
      expect.stringMatching(/no answer within 100 ms$/),
    ]);
    expect(broker.connections[0]?.destroyed).toBe(true);
    broker.hang = false;
    expect(await lease.checkQueue('orders', never)).toMatchObject({ ok: true });
    expect(broker.connections).toHaveLength(2);
    await lease.release();
  });

  it('gives up on an aborted read', async () => {
    const { broker, pool } = setup(10_000);
    const lease = pool.acquire(endpoint());
    broker.hang = true;
    const abort = new AbortController();
    const pending = lease.checkQueue('orders', abort.signal);
    setTimeout(() => abort.abort(), 20);
    expect(await pending).toMatchObject({
      ok: false,
      error: { message: expect.stringMatching(/was aborted/) },
    });
    const aborted = await lease.checkQueue('orders', abort.signal);
    expect(aborted).toMatchObject({ ok: false, error: { message: expect.stringMatching(/was aborted/) } });
    await lease.release();
  });

  it('closes a connection that opens after the last release', async () => {
    const { broker, pool } = setup();
    const lease = pool.acquire(endpoint());
    const read = lease.checkQueue('orders', never);
    await lease.release();
    expect(await read).toMatchObject({ ok: false });
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(broker.open).toHaveLength(0);
    expect(await lease.checkQueue('orders', never)).toMatchObject({
      ok: false,
      error: { message: 'queue "orders": the scaler was closed' },
    });
  });

  it('never puts the password in a message', async () => {
    const broker = new FakeBroker();
    const pool = new AmqpConnections({
      connect: async () => {
        throw new Error('handshake failed for amqp://ebb:sekret-pw@127.0.0.1');
      },
    });
    const lease = pool.acquire(endpoint());
    const result = await lease.checkQueue('orders', never);
    expect(result.ok).toBe(false);
    expect(JSON.stringify(result)).not.toContain('sekret-pw');
    expect(broker.connections).toHaveLength(0);
    await lease.release();
  });
});
