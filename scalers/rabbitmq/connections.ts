// Shared AMQP connections: one per (broker, vhost, credentials, TLS), reference counted across
// every trigger that reads it (the kit's pool, scalers/kit/pool.ts), closed when the last one
// releases. Each controller has its own AmqpConnections (ScalerDeps), never the process. Each holds one long-lived
// channel for passive declares (`checkQueue`). Reads on a connection run one at a time (amqplib
// runs one RPC per channel at a time anyway): a missing queue makes the broker close the channel,
// which would fail every RPC queued behind it, so the next read opens a fresh channel instead.
// A lost connection is re-opened by the next read (no controller restart); reads queued behind a
// failed connect fail at once with its error instead of each waiting out its own timeout.
// Every emitter gets 'error' handlers: nothing here may crash the process.
import {
  connect as amqpConnect,
  credentials as amqpCredentials,
  type Channel,
  type ChannelModel,
  type Options,
  type SocketOptions,
} from 'amqplib';
import { fail, ok, type Result } from '../../src/api/reasons.ts';
import { type Clock, realClock } from '../../src/clock.ts';
import type { ReadError } from '../../src/scaler.ts';
import { type ConnectionPool, createConnectionPool, connectionKey as poolKey } from '../kit/pool.ts';
import { type AmqpEndpoint, RabbitMQError } from './broker.ts';

export type AmqpConnect = (options: Options.Connect, socketOptions: SocketOptions) => Promise<ChannelModel>;

export interface AmqpConnectionsOptions {
  /** amqplib's `connect` (tests pass a fake). */
  readonly connect?: AmqpConnect;
  /** Connecting, opening the channel and each declare must each finish within this. */
  readonly timeoutMs?: number;
  /** AMQP heartbeat: a broker that vanished without closing the socket is noticed within ~2. */
  readonly heartbeatSeconds?: number;
  /** `connection_name` the broker shows for ebb's connections. */
  readonly connectionName?: string;
  /** Arms the timeouts of connecting, opening the channel and each declare. */
  readonly clock?: Clock;
}

export interface QueueDeclareOk {
  /** Ready messages (a passive declare does not count unacknowledged ones). */
  readonly messageCount: number;
  readonly consumerCount: number;
}

export interface AmqpLease {
  /** A passive declare of `queue` on the connection's long-lived channel. */
  checkQueue(queue: string, signal: AbortSignal): Promise<Result<QueueDeclareOk, ReadError>>;
  /** Gives the connection back; the last release closes it. Idempotent. */
  release(): Promise<void>;
}

const DEFAULT_TIMEOUT_MS = 3000;
const DEFAULT_HEARTBEAT_SECONDS = 10;
export const DEFAULT_CONNECTION_NAME = 'ebb';

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** Server-side channel closes (404 NOT_FOUND, 403 ACCESS_REFUSED) carry a reply code and a class id. */
const channelCloseCode = (error: unknown): number | undefined => {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, classId } = error as { code?: unknown; classId?: unknown };
  return typeof code === 'number' && typeof classId === 'number' && classId !== 0 ? code : undefined;
};

class Timeout extends Error {}

/** Frees a connection that may never answer a close: drop its socket (amqplib keeps it as `stream`). */
const destroy = (model: ChannelModel): void => {
  const stream = (model.connection as { stream?: { destroy?: () => void } }).stream;
  stream?.destroy?.();
};

class SharedConnection {
  private model: ChannelModel | undefined;
  private channel: Channel | undefined;
  /** The tail of the read queue; reads never reject, so neither does it. */
  private tail: Promise<unknown> = Promise.resolve();
  /** Bumped on every connection-level failure; a read remembers the epoch it was queued in. */
  private epoch = 0;
  private failure: { readonly epoch: number; readonly message: string } | undefined;
  private released = false;

  constructor(
    private readonly endpoint: AmqpEndpoint,
    private readonly options: Required<AmqpConnectionsOptions>,
  ) {}

  checkQueue(queue: string, signal: AbortSignal): Promise<Result<QueueDeclareOk, ReadError>> {
    const epoch = this.epoch;
    const read = this.tail.then(() => this.declare(queue, signal, epoch));
    this.tail = read;
    return read;
  }

  async close(): Promise<void> {
    this.released = true;
    const model = this.model;
    this.model = undefined;
    this.channel = undefined;
    if (model === undefined) return;
    try {
      await this.bounded(model.close());
    } catch {
      destroy(model);
    }
  }

  private problem(message: string): { ok: false; error: ReadError } {
    const password = this.endpoint.credentials?.password;
    const safe =
      password !== undefined && password.length >= 3 ? message.replaceAll(password, '***') : message;
    return fail({ reason: RabbitMQError, message: safe });
  }

  private async declare(
    queue: string,
    signal: AbortSignal,
    epoch: number,
  ): Promise<Result<QueueDeclareOk, ReadError>> {
    const where = `queue "${queue}" on ${this.endpoint.display}`;
    if (this.released) return this.problem(`cannot read ${where}: the scaler was closed`);
    if (signal.aborted) return this.problem(`reading ${where} was aborted`);
    if (this.failure !== undefined && this.failure.epoch >= epoch) {
      return this.problem(`cannot read ${where}: ${this.failure.message}`);
    }
    let channel: Channel | undefined;
    try {
      channel = await this.bounded(this.openChannel(), signal);
      const reply = await this.bounded(channel.checkQueue(queue), signal);
      return ok({ messageCount: reply.messageCount, consumerCount: reply.consumerCount });
    } catch (error) {
      const code = channelCloseCode(error);
      if (code !== undefined) {
        // The broker closed the channel (it emitted 'close' already); the connection is fine.
        if (this.channel === channel) this.channel = undefined;
        if (code === 404) {
          return this.problem(
            `queue "${queue}" not found in vhost "${this.endpoint.vhost}" on ${this.endpoint.display}`,
          );
        }
        return this.problem(`cannot read ${where}: ${messageOf(error)}`);
      }
      if (signal.aborted && !(error instanceof Timeout)) {
        return this.problem(`reading ${where} was aborted`);
      }
      const message =
        error instanceof Timeout
          ? `no answer within ${this.options.timeoutMs} ms`
          : `cannot reach RabbitMQ (${messageOf(error)})`;
      this.drop(message);
      return this.problem(`cannot read ${where}: ${message}`);
    }
  }

  /** Races `work` with the timeout and the read's abort signal (none for a close). */
  private bounded<T>(work: Promise<T>, signal?: AbortSignal): Promise<T> {
    const { clock } = this.options;
    return new Promise<T>((resolve, reject) => {
      const timer = clock.after(this.options.timeoutMs, () => finish(() => reject(new Timeout())));
      const onAbort = () => finish(() => reject(new Error('aborted')));
      const finish = (settle: () => void) => {
        clock.cancel(timer);
        signal?.removeEventListener('abort', onAbort);
        settle();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      work.then(
        (value) => finish(() => resolve(value)),
        (error: unknown) => finish(() => reject(error)),
      );
    });
  }

  /** A connection-level failure: forget the connection; reads queued before now fail fast. */
  private drop(message: string): void {
    this.failure = { epoch: this.epoch, message };
    this.epoch += 1;
    const model = this.model;
    this.model = undefined;
    this.channel = undefined;
    if (model !== undefined) {
      model.close().catch(() => {});
      destroy(model);
    }
  }

  private async openChannel(): Promise<Channel> {
    if (this.channel !== undefined) return this.channel;
    const model = await this.openConnection();
    const channel = await model.createChannel();
    // A failed passive declare closes the channel with an 'error'; the declare's promise carries it.
    channel.on('error', () => {});
    channel.on('close', () => {
      if (this.channel === channel) this.channel = undefined;
    });
    if (this.model !== model) {
      channel.close().catch(() => {});
      throw new Error('the connection closed while the channel opened');
    }
    this.channel = channel;
    return channel;
  }

  private async openConnection(): Promise<ChannelModel> {
    if (this.model !== undefined) return this.model;
    const { endpoint, options } = this;
    const epoch = this.epoch;
    const model = await options.connect(
      {
        protocol: endpoint.scheme,
        hostname: endpoint.hostname,
        port: endpoint.port,
        // amqplib unescapes the vhost it is given.
        vhost: encodeURIComponent(endpoint.vhost),
        heartbeat: options.heartbeatSeconds,
        ...(endpoint.credentials ?? {}),
      },
      {
        timeout: options.timeoutMs,
        noDelay: true,
        clientProperties: { connection_name: options.connectionName },
        ...(endpoint.credentials === undefined ? { credentials: amqpCredentials.external() } : {}),
        ...(endpoint.tls ?? {}),
      },
    );
    model.on('error', () => {}); // always followed by 'close', handled below
    model.on('close', (error?: Error) => {
      if (this.model !== model) return;
      this.drop(`the connection closed${error === undefined ? '' : ` (${error.message})`}`);
    });
    // Closed, or given up on (timed out) while connecting: this late connection is not wanted.
    if (this.released || this.epoch !== epoch) {
      model.close().catch(() => destroy(model));
      throw new Error(this.released ? 'the scaler was closed' : 'connected too late');
    }
    this.model = model;
    this.failure = undefined;
    return model;
  }
}

/** The AMQP connections of one controller (built once in wiring, by createScalerDeps). */
export class AmqpConnections {
  private readonly pool: ConnectionPool<SharedConnection> = createConnectionPool((c) => c.close());
  private readonly options: Required<AmqpConnectionsOptions>;

  constructor(options: AmqpConnectionsOptions = {}) {
    this.options = {
      connect: options.connect ?? amqpConnect,
      timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      heartbeatSeconds: options.heartbeatSeconds ?? DEFAULT_HEARTBEAT_SECONDS,
      connectionName: options.connectionName ?? DEFAULT_CONNECTION_NAME,
      clock: options.clock ?? realClock,
    };
  }

  /** Takes a share of the endpoint's connection; connects lazily, on the first read. */
  acquire(endpoint: AmqpEndpoint): AmqpLease {
    const lease = this.pool.acquire(
      connectionKey(endpoint),
      () => new SharedConnection(endpoint, this.options),
    );
    let released = false;
    return {
      checkQueue: (queue, signal) =>
        released
          ? Promise.resolve(
              fail({ reason: RabbitMQError, message: `queue "${queue}": the scaler was closed` }),
            )
          : lease.resource.checkQueue(queue, signal),
      release: async () => {
        released = true;
        await lease.release();
      },
    };
  }

  /** How many shared connections have users (each opens at most one AMQP connection). */
  get size(): number {
    return this.pool.stats().open;
  }

  /** Users per shared connection, for tests and diagnostics. */
  users(): number[] {
    return this.pool.leaseCounts();
  }
}

/** Identity of a shared connection; hashed so that no credential sits in a long-lived key. */
export const connectionKey = (endpoint: AmqpEndpoint): string =>
  poolKey([
    endpoint.scheme,
    endpoint.hostname,
    endpoint.port,
    endpoint.vhost,
    endpoint.credentials?.username ?? null,
    endpoint.credentials?.password ?? null,
    endpoint.tls ?? null,
  ]);
