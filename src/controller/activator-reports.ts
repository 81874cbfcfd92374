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
//
// Every request is authenticated before its body is read (report-auth.ts: the activator's
// ServiceAccount token, a TokenReview, an allow-list), then checked (report-validation.ts:
// bounds, ±30 s clock skew), then admitted: at most `maxActivators` (1,024) activator ids are
// held, each forgotten 30 s after its last report; a poke must name a route a ScaledObject has
// (the leader checks its cache; a standby, which has none, only lets it raise a route the
// activator's own report names). Answers: 204 done, 202 poke recorded but not acted on (not
// leading), 400 with the field and why, 401/403 (with WWW-Authenticate, RFC 6750 §3), 404
// unknown path, 405 not POST, 413 body over 1 MiB, 503 (no TokenReview answer, too many
// activators: with Retry-After). Each refusal is counted by reason (ReportObserver →
// ebb_activator_reports_refused_total) and logged at most once per reason every 10 s.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  InvalidReport,
  type ReportRefusal,
  ReportTooLarge,
  TooManyActivators,
  UnknownRoute,
} from '../api/reasons.ts';
import { realClock } from '../clock.ts';
import type { Logger } from '../logging.ts';
import { scaledObjectKeyOfRoute } from '../routing/routes.ts';
import { ActivationFeed } from './activation-feed.ts';
import { noopReportObserver, type ReportObserver } from './observer.ts';
import type { ReportAuthenticator } from './report-auth.ts';
import { checkGoodbye, checkPoke, checkStats } from './report-validation.ts';

export const STATS_PATH = '/v1/activator/stats';
export const POKE_PATH = '/v1/activator/poke';
export const GOODBYE_PATH = '/v1/activator/goodbye';
export const DEFAULT_REPORT_PORT = 9091;
export const DEFAULT_MAX_ACTIVATORS = 1024;

const MAX_BODY_BYTES = 1024 * 1024;
/** One log line per refusal reason at most this often (a flood must not flood the log). */
const REFUSAL_LOG_EVERY_MS = 10_000;

export interface ActivatorReportsOptions {
  readonly feed: ActivationFeed;
  /** The controller while this process leads, else undefined (then pokes are only recorded). */
  readonly controller: () => { poke(key: string): void } | undefined;
  /** Who may report (report-auth.ts); `noReportAuthentication` only for --report-auth=none. */
  readonly authenticator: ReportAuthenticator;
  /** Does a ScaledObject have this http route? undefined: this process cannot tell (a standby). */
  readonly routeExists?: (route: string) => boolean | undefined;
  /** Told about every refusal; default: nobody. */
  readonly observer?: ReportObserver;
  /** Activator ids held at once; a new one beyond is refused (503) until one is forgotten. */
  readonly maxActivators?: number;
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

const answer = (
  res: ServerResponse,
  status: number,
  message?: string,
  headers: Readonly<Record<string, string>> = {},
): void => {
  if (message === undefined) {
    res.writeHead(status, headers).end();
    return;
  }
  const body = `${message}\n`;
  res.writeHead(status, {
    ...headers,
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
  const now = opts.now ?? realClock.wallNow;
  const observer = opts.observer ?? noopReportObserver;
  const maxActivators = opts.maxActivators ?? DEFAULT_MAX_ACTIVATORS;
  const lastLogged = new Map<ReportRefusal, { at: number; suppressed: number }>();

  const refuse = (
    req: IncomingMessage,
    res: ServerResponse,
    status: number,
    reason: ReportRefusal,
    message: string,
    headers: Readonly<Record<string, string>> = {},
    detail?: string,
  ): void => {
    observer.reportRefused(reason);
    const t = now();
    const last = lastLogged.get(reason);
    if (last === undefined || t - last.at >= REFUSAL_LOG_EVERY_MS) {
      opts.log.warn(
        {
          reason,
          status,
          from: req.socket.remoteAddress,
          err: detail ?? message,
          suppressed: last?.suppressed ?? 0,
        },
        'refused an activator report',
      );
      lastLogged.set(reason, { at: t, suppressed: 0 });
    } else last.suppressed++;
    answer(res, status, message, headers);
  };

  /** A known id, or a new one while fewer than maxActivators are held. */
  const admitted = (activator: string): boolean =>
    opts.feed.knows(activator) || opts.feed.size < maxActivators;
  const tooMany = (req: IncomingMessage, res: ServerResponse, activator: string) =>
    refuse(
      req,
      res,
      503,
      TooManyActivators,
      `activator: ${maxActivators} activators are reporting already; ${JSON.stringify(activator.slice(0, 64))} is not taken until one is forgotten (30 s after its last report)`,
      { 'retry-after': '30' },
    );

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
    // Before the body: an unauthenticated client gets nothing read, and the connection closed.
    const auth = await opts.authenticator.authenticate(req.headers.authorization, now());
    if (!auth.ok) {
      const headers = {
        connection: 'close',
        ...(auth.challenge === undefined ? {} : { 'www-authenticate': auth.challenge }),
      };
      refuse(req, res, auth.status, auth.reason, auth.message, headers, auth.detail);
      return;
    }
    const body = await readJson(req);
    if (!body.ok) {
      refuse(req, res, body.status, body.status === 413 ? ReportTooLarge : InvalidReport, body.message);
      return;
    }
    if (path === STATS_PATH) {
      const stats = checkStats(body.value, now());
      if (!stats.ok) return refuse(req, res, 400, stats.reason, stats.message);
      if (!admitted(stats.value.activator)) return tooMany(req, res, stats.value.activator);
      opts.feed.record(stats.value);
      answer(res, 204);
      return;
    }
    if (path === GOODBYE_PATH) {
      const bye = checkGoodbye(body.value);
      if (!bye.ok) return refuse(req, res, 400, bye.reason, bye.message);
      opts.feed.forget(bye.value.activator);
      opts.log.info({ activator: bye.value.activator, identity: auth.identity }, 'activator said goodbye');
      answer(res, 204);
      return;
    }
    const poke = checkPoke(body.value, now());
    if (!poke.ok) return refuse(req, res, 400, poke.reason, poke.message);
    const p = poke.value;
    if (!admitted(p.activator)) return tooMany(req, res, p.activator);
    const exists = opts.routeExists?.(p.route);
    if (exists === false) {
      return refuse(req, res, 400, UnknownRoute, `route: no ScaledObject has the http route ${p.route}`);
    }
    if (p.stats !== undefined) opts.feed.record(p.stats);
    // Without a cache to ask, a poke may only raise a route its activator reported: it never
    // adds entries of its own.
    if (exists === undefined && !opts.feed.hasRoute(p.activator, p.route)) {
      return refuse(
        req,
        res,
        400,
        UnknownRoute,
        `route: ${p.route} is in no report of activator ${p.activator} (send it in the poke's stats)`,
      );
    }
    opts.feed.recordPoke(p.activator, p.route, p.held, p.at);
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
  /** The activators' counters: wiring passes it to the controller as its ConcurrencyFeed (the
   * http scalers read it) and ServicePortView (reconcile reads it). */
  readonly feed: ActivationFeed;
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * What `ebb run --report-port` starts beside the controller: a fresh ActivationFeed (wiring hands
 * it to the controller as the ConcurrencyFeed and the ServicePortView), and the receiver on `port` (0: a
 * free one). `running.controller()` is the controller while this process leads
 * (runController's RunningController fits).
 */
export const serveActivatorReports = async (
  running: { controller(): { poke(key: string): void } | undefined },
  opts: Pick<
    ActivatorReportsOptions,
    'authenticator' | 'routeExists' | 'observer' | 'maxActivators' | 'log' | 'now'
  > & {
    readonly port: number;
    readonly address?: string | undefined;
  },
): Promise<ServedActivatorReports> => {
  const feed = new ActivationFeed(opts.now === undefined ? {} : { now: opts.now });
  const reports = await startActivatorReports({ ...opts, feed, controller: () => running.controller() });
  opts.log.info(
    { url: reports.url, authentication: opts.authenticator.description },
    'receiving activator reports',
  );
  return {
    feed,
    url: reports.url,
    port: reports.port,
    async close() {
      await reports.close();
    },
  };
};
