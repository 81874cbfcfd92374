// The controller's receiver for standalone activators (`ebb activator --controller-url`,
// src/activator/reporter.ts): a small node:http server, JSON in, no framework.
//
//   POST /v1/activator/stats    ActivatorStats          → feed.record
//   POST /v1/activator/poke     {activator, route, held, at?, stats?}
//                                                       → feed.record(stats), feed.recordPoke,
//                                                         controller.poke(ScaledObject) when leading
//   POST /v1/activator/goodbye  {activator}             → feed.forget
//
// Every replica of the controller receives (activators post to each URL): a standby records
// too, so its feed is warm when it takes over; only the leader's poke starts a poll.
// Answers: 204 done, 202 poke recorded but not acted on (not leading), 400 with the field and
// why, 404 unknown path, 405 not POST, 413 body over 1 MiB.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { bindConcurrencyFeed } from '../../scalers/http/feed.ts';
import type { ActivatorStats } from '../activator/stats.ts';
import type { Logger } from '../logging.ts';
import { ActivationFeed } from './activation-feed.ts';
import { scaledObjectKeyOfRoute } from './http-routes.ts';
import { bindServicePortView } from './route-claims.ts';

export const STATS_PATH = '/v1/activator/stats';
export const POKE_PATH = '/v1/activator/poke';
export const GOODBYE_PATH = '/v1/activator/goodbye';
export const DEFAULT_REPORT_PORT = 9091;

const MAX_BODY_BYTES = 1024 * 1024;

const count = z.number().int().nonnegative();
const activatorId = z.string().min(1).max(253);

const RouteStatsSchema = z.object({
  route: z.string().min(1),
  inFlight: count,
  held: count,
  requests: count,
  concurrencyMs: z.number().nonnegative(),
});

const UnresolvedPortSchema = z.object({
  route: z.string().min(1),
  namespace: z.string().min(1),
  service: z.string().min(1),
  port: z.string().min(1),
});

export const ActivatorStatsSchema = z.object({
  activator: activatorId,
  at: z.number().positive(),
  routes: z.array(RouteStatsSchema),
  aliases: z.record(z.string(), z.string()).optional(),
  unresolved: z.array(UnresolvedPortSchema).optional(),
});

const PokeSchema = z.object({
  activator: activatorId,
  route: z.string().min(1),
  held: count,
  /** ms since the epoch the poke was taken at; default: when it arrived. */
  at: z.number().positive().optional(),
  stats: ActivatorStatsSchema.optional(),
});

const GoodbyeSchema = z.object({ activator: activatorId });

export interface ActivatorReportsOptions {
  readonly feed: ActivationFeed;
  /** The controller while this process leads, else undefined (then pokes are only recorded). */
  readonly controller: () => { poke(key: string): void } | undefined;
  readonly log: Logger;
  /** ms since the epoch; default Date.now. */
  readonly now?: () => number;
}

export interface ActivatorReports {
  readonly server: Server;
  /** `http://address:port` once listening. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** zod issues → `field: why; field: why` (the first few). */
const describeIssues = (error: z.ZodError): string =>
  error.issues
    .slice(0, 5)
    .map((i) => `${i.path.length === 0 ? '(body)' : i.path.join('.')}: ${i.message}`)
    .join('; ');

const answer = (res: ServerResponse, status: number, message?: string): void => {
  if (message === undefined) {
    res.writeHead(status).end();
    return;
  }
  const body = `${message}\n`;
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
};

/** Reads a JSON body of at most MAX_BODY_BYTES; a string is the problem (status 400 or 413). */
const readJson = (
  req: IncomingMessage,
): Promise<{ ok: true; value: unknown } | { ok: false; status: number; message: string }> =>
  new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) over = true;
      else if (!over) chunks.push(c);
    });
    req.on('error', () => resolve({ ok: false, status: 400, message: 'request body could not be read' }));
    req.on('end', () => {
      if (over) {
        resolve({ ok: false, status: 413, message: `body is over ${MAX_BODY_BYTES} bytes` });
        return;
      }
      try {
        resolve({ ok: true, value: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown });
      } catch (err) {
        resolve({
          ok: false,
          status: 400,
          message: `body is not JSON: ${err instanceof Error ? err.message : String(err)}`,
        });
      }
    });
  });

/** The request handler (exported for tests that bring their own server). */
export const activatorReportsHandler = (opts: ActivatorReportsOptions) => {
  const now = opts.now ?? Date.now;
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== STATS_PATH && path !== POKE_PATH && path !== GOODBYE_PATH) {
      answer(res, 404, `no such path ${path}; POST ${STATS_PATH}, ${POKE_PATH} or ${GOODBYE_PATH}`);
      return;
    }
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      answer(res, 405, `${path} takes POST, not ${req.method}`);
      return;
    }
    const body = await readJson(req);
    if (!body.ok) {
      answer(res, body.status, body.message);
      return;
    }
    if (path === STATS_PATH) {
      const stats = ActivatorStatsSchema.safeParse(body.value);
      if (!stats.success) {
        answer(res, 400, describeIssues(stats.error));
        return;
      }
      opts.feed.record(stats.data as ActivatorStats);
      answer(res, 204);
      return;
    }
    if (path === GOODBYE_PATH) {
      const bye = GoodbyeSchema.safeParse(body.value);
      if (!bye.success) {
        answer(res, 400, describeIssues(bye.error));
        return;
      }
      opts.feed.forget(bye.data.activator);
      opts.log.info({ activator: bye.data.activator }, 'activator said goodbye');
      answer(res, 204);
      return;
    }
    const poke = PokeSchema.safeParse(body.value);
    if (!poke.success) {
      answer(res, 400, describeIssues(poke.error));
      return;
    }
    const p = poke.data;
    if (p.stats !== undefined) opts.feed.record(p.stats as ActivatorStats);
    opts.feed.recordPoke(p.activator, p.route, p.held, p.at ?? now());
    const controller = opts.controller();
    if (controller === undefined) {
      answer(res, 202);
      return;
    }
    controller.poke(scaledObjectKeyOfRoute(p.route));
    answer(res, 204);
  };
  return (req: IncomingMessage, res: ServerResponse): void => {
    handle(req, res).catch((err: unknown) => {
      opts.log.error({ err: err instanceof Error ? err.message : String(err) }, 'activator report failed');
      if (!res.headersSent) answer(res, 500, 'internal error');
    });
  };
};

/** Listens on `port` (0: a free one) and `address` (default all interfaces). */
export const startActivatorReports = async (
  opts: ActivatorReportsOptions & { readonly port: number; readonly address?: string | undefined },
): Promise<ActivatorReports> => {
  // Activators keep their connection open (a push a second); above their agents' idle timeout.
  const server = createServer(
    { keepAliveTimeout: 65_000, requestTimeout: 10_000 },
    activatorReportsHandler(opts),
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.address, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  return {
    server,
    url: `http://${host}:${bound.port}`,
    port: bound.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
};

export interface ServedActivatorReports {
  /** The activators' counters, bound as this process's ConcurrencyFeed (the http scalers read it)
   * and ServicePortView (reconcile reads it). */
  readonly feed: ActivationFeed;
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * What `ebb run --report-port` starts beside the controller: a fresh ActivationFeed bound as the
 * ConcurrencyFeed and the ServicePortView (route-claims.ts), and the receiver on `port` (0: a free one). `running.controller()` is the
 * controller while this process leads (runController's RunningController fits).
 */
export const serveActivatorReports = async (
  running: { controller(): { poke(key: string): void } | undefined },
  opts: { readonly port: number; readonly address?: string | undefined; readonly log: Logger },
): Promise<ServedActivatorReports> => {
  const feed = new ActivationFeed();
  const reports = await startActivatorReports({
    feed,
    controller: () => running.controller(),
    log: opts.log,
    port: opts.port,
    address: opts.address,
  });
  const unbindFeed = bindConcurrencyFeed(feed);
  const unbindPorts = bindServicePortView(feed);
  opts.log.info({ url: reports.url }, 'receiving activator reports');
  return {
    feed,
    url: reports.url,
    port: reports.port,
    async close() {
      unbindPorts();
      unbindFeed();
      await reports.close();
    },
  };
};
