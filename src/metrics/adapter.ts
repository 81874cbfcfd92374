// The external.metrics.k8s.io/v1beta1 server the HPA reads through the API server's aggregation
// layer. It answers from the controller's latest readings in this process (MetricReadings), so an
// HPA sync costs no query of an event source; `liveRead` opts into a fresh poll per request.
//
// What the aggregator needs (k8s.io/kube-aggregator v0.35):
// - `GET /apis/external.metrics.k8s.io/v1beta1` answered 2xx within 5 s (the APIService's
//   Available condition), and `/apis` (an APIGroupList is fine: the aggregator falls back from
//   aggregated discovery to the legacy APIResourceList).
// - `/openapi/v2` and `/openapi/v3`: 404 means "no spec"; a 500 is what broke KEDA's aggregator.
// Authentication: the aggregator presents its front-proxy client certificate (signed by the
// requestheader CA, CN in requestheader-allowed-names) and names the user in X-Remote-User.
// Authorization already happened in kube-apiserver (RBAC on external.metrics.k8s.io), and only
// it holds that certificate, so a request that passes authentication is served.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { realClock } from '../clock.ts';
import type { Logger } from '../logging.ts';
import { parseRequestTarget } from '../request-target.ts';
import {
  apiGroup,
  apiGroupList,
  apiResourceList,
  externalMetricValueList,
  GROUP,
  GROUP_VERSION,
  type MetricItem,
  SCALED_OBJECT_LABEL,
  type StatusReason,
  status,
} from './api-objects.ts';
import { describeStale, type MetricReadings, staleNamesLogger } from './readings.ts';
import { matches, parseSelector, pinnedValues } from './selector.ts';
import { type ServingCert, selfSignedServingCert } from './serving-cert.ts';

/** The aggregation layer's request-header authentication (ConfigMap extension-apiserver-authentication). */
export interface RequestHeaderAuth {
  /** PEM bundle of the CA that signs the aggregator's front-proxy client certificate. */
  readonly clientCA: string;
  /** Client certificate CNs allowed; empty or omitted: any certificate the CA signed. */
  readonly allowedNames?: readonly string[];
  /** Headers naming the user, first non-empty wins; default `X-Remote-User`. */
  readonly usernameHeaders?: readonly string[];
}

export interface Readiness {
  readonly ok: boolean;
  /** Why not ready (one line each). */
  readonly reasons: readonly string[];
}

export interface MetricsAdapterOptions {
  readonly readings: Pick<MetricReadings, 'get' | 'list' | 'metricNames' | 'freshness'>;
  /** 0: any free port (see `port` of the result). */
  readonly port: number;
  /** Default: all interfaces. */
  readonly address?: string;
  /** undefined: a self-signed certificate made at start. */
  readonly tls: ServingCert | undefined;
  /** undefined: no authentication at all (tests and local use only; a warning is logged). */
  readonly requestHeader: RequestHeaderAuth | undefined;
  readonly log: Logger;
  /**
   * A further readiness condition, e.g. "this replica leads" (standbys hold no readings). While it
   * fails, metric reads are answered 503 with its reasons (not 404: the metric may well exist).
   */
  readonly ready?: () => Readiness;
  /** Opt-in live reads: poll the object now and resolve once done (true) or given up (false). */
  readonly liveRead?: (namespace: string, name: string) => Promise<boolean>;
  readonly now?: () => number;
}

export interface MetricsAdapter {
  readonly port: number;
  close(): Promise<void>;
}

type Reply = { readonly code: number; readonly body: unknown; readonly contentType?: string };

const json = (code: number, body: unknown): Reply => ({ code, body });
const fail = (
  code: number,
  reason: StatusReason,
  message: string,
  details?: Parameters<typeof status>[3],
): Reply => json(code, status(code, reason, message, details));

const API_PREFIX = `/apis/${GROUP_VERSION}`;
const METRIC_PATH = new RegExp(`^${API_PREFIX.replaceAll('.', '\\.')}/namespaces/([^/]+)/([^/]+)$`);

/**
 * One path segment, percent-decoded (RFC 3986 §2.1) as UTF-8; a malformed escape (`%zz`, `%2`)
 * or bytes that are not UTF-8 (`%C0%AF`) are the client's error, 400, never a 500.
 */
const decodeSegment = (segment: string): { ok: true; value: string } | { ok: false; reply: Reply } => {
  try {
    return { ok: true, value: decodeURIComponent(segment) };
  } catch {
    return {
      ok: false,
      reply: fail(
        400,
        'BadRequest',
        `path segment ${JSON.stringify(segment.slice(0, 100))} is not valid percent-encoded UTF-8 (RFC 3986 §2.1)`,
      ),
    };
  }
};

type Auth = { ok: true; user: string } | { ok: false; reply: Reply };

const authenticate = (req: IncomingMessage, auth: RequestHeaderAuth | undefined): Auth => {
  if (auth === undefined) return { ok: true, user: 'system:anonymous' };
  const socket = req.socket as TLSSocket;
  if (!socket.authorized) {
    const why =
      socket.authorizationError === null || socket.authorizationError === undefined
        ? 'no client certificate'
        : `client certificate not verified by the requestheader CA (${String(socket.authorizationError)})`;
    return {
      ok: false,
      reply: fail(401, 'Unauthorized', `${why}; this API is served through the aggregation layer`),
    };
  }
  const allowed = auth.allowedNames ?? [];
  if (allowed.length > 0) {
    const cn = socket.getPeerCertificate().subject?.CN;
    const names = Array.isArray(cn) ? cn : cn === undefined ? [] : [cn];
    if (!names.some((n) => allowed.includes(n))) {
      return {
        ok: false,
        reply: fail(
          403,
          'Forbidden',
          `client certificate CN=${names.join(',') || '(none)'} is not in requestheader-allowed-names`,
        ),
      };
    }
  }
  for (const header of auth.usernameHeaders ?? ['X-Remote-User']) {
    const value = req.headers[header.toLowerCase()];
    const user = Array.isArray(value) ? value[0] : value;
    if (user !== undefined && user !== '') return { ok: true, user };
  }
  return { ok: false, reply: fail(401, 'Unauthorized', 'the request names no user (X-Remote-User)') };
};

/** Serves the adapter; resolves once it listens. */
export const startMetricsAdapter = async (opts: MetricsAdapterOptions): Promise<MetricsAdapter> => {
  const log = opts.log.child({ component: 'metrics-adapter' });
  const now = opts.now ?? realClock.wallNow;
  const tls = opts.tls ?? (await selfSignedServingCert());
  if (opts.requestHeader === undefined) log.warn('external metrics adapter serving WITHOUT authentication');

  const logStale = staleNamesLogger((names, count) =>
    log.warn({ stale: names, count }, 'readings are stale: the adapter is not ready'),
  );
  const readiness = (): Readiness => {
    const reasons: string[] = [];
    const extra = opts.ready?.();
    if (extra !== undefined && !extra.ok) reasons.push(...extra.reasons);
    // /readyz is unauthenticated: a count, never the objects' names (those go to the log).
    const fresh = opts.readings.freshness(now());
    logStale(fresh.stale);
    if (!fresh.fresh) reasons.push(describeStale(fresh.stale));
    return { ok: reasons.length === 0, reasons };
  };

  const metric = async (namespace: string, metricName: string, query: URLSearchParams): Promise<Reply> => {
    const serving = opts.ready?.();
    if (serving !== undefined && !serving.ok) {
      return fail(503, 'ServiceUnavailable', `cannot serve external metrics: ${serving.reasons.join('; ')}`);
    }
    const parsed = parseSelector(query.get('labelSelector') ?? '');
    if (!parsed.ok) return fail(400, 'BadRequest', parsed.error.message);
    const names = pinnedValues(parsed.value, SCALED_OBJECT_LABEL);
    if (names === undefined) {
      return fail(400, 'BadRequest', `labelSelector must select ${SCALED_OBJECT_LABEL}=<ScaledObject name>`);
    }
    const notFound = fail(
      404,
      'NotFound',
      `no metric ${metricName} for ScaledObject ${names.join(',')} in namespace ${namespace}`,
      {
        name: metricName,
        group: GROUP,
        kind: 'ExternalMetricValueList',
      },
    );
    const known = names.filter((n) => opts.readings.get(namespace, n) !== undefined);
    if (opts.liveRead !== undefined) await Promise.all(known.map((n) => opts.liveRead?.(namespace, n)));
    const items: MetricItem[] = [];
    for (const name of known) {
      if (!matches(parsed.value, { [SCALED_OBJECT_LABEL]: name })) continue;
      const metrics = opts.readings.get(namespace, name)?.metrics;
      const reading = metrics?.get(metricName) ?? findIgnoringCase(metrics, metricName);
      if (reading === undefined) continue;
      if (reading.value === undefined) {
        const e = reading.error;
        return fail(
          503,
          'ServiceUnavailable',
          `trigger ${reading.trigger} of ${namespace}/${name} failed in its latest poll: ${e?.reason ?? 'Unknown'}: ${e?.message ?? ''}`,
        );
      }
      items.push({ scaledObject: name, reading: { ...reading, value: reading.value } });
    }
    return items.length === 0 ? notFound : json(200, externalMetricValueList(items));
  };

  const route = async (
    req: IncomingMessage,
    target: { path: string; query: URLSearchParams },
  ): Promise<Reply> => {
    const path = target.path.length > 1 ? target.path.replace(/\/+$/, '') : target.path;
    // Public: probes, and /openapi (404 = "no spec" to the aggregator, never a 500).
    if (path === '/healthz' || path === '/livez') return { code: 200, body: 'ok', contentType: 'text/plain' };
    if (path === '/readyz') {
      const r = readiness();
      return r.ok
        ? { code: 200, body: 'ok', contentType: 'text/plain' }
        : {
            code: 503,
            body: `${r.reasons.map((x) => `[-] ${x}`).join('\n')}\nreadyz check failed\n`,
            contentType: 'text/plain',
          };
    }
    if (path === '/openapi' || path.startsWith('/openapi/'))
      return fail(404, 'NotFound', `${path} is not served`);
    if (path !== '/apis' && !path.startsWith('/apis/')) return fail(404, 'NotFound', `${path} is not served`);

    const auth = authenticate(req, opts.requestHeader);
    if (!auth.ok) {
      log.warn({ path, code: auth.reply.code }, 'refused an unauthenticated request');
      return auth.reply;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return fail(
        405,
        'MethodNotAllowed',
        `${req.method ?? ''} is not supported; the external metrics API is read-only`,
      );
    }
    if (path === '/apis') return json(200, apiGroupList());
    if (path === `/apis/${GROUP}`) return json(200, apiGroup());
    if (path === API_PREFIX) return json(200, apiResourceList(opts.readings.metricNames()));
    const m = METRIC_PATH.exec(path);
    if (m === null) return fail(404, 'NotFound', `${path} is not served`);
    const namespace = decodeSegment(m[1] ?? '');
    const metricName = decodeSegment(m[2] ?? '');
    if (!namespace.ok) return namespace.reply;
    if (!metricName.ok) return metricName.reply;
    const result = await metric(namespace.value, metricName.value, target.query);
    log.debug({ path, user: auth.user, code: result.code }, 'external metric read');
    return result;
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const target = parseRequestTarget(req.url);
    const answer = target.ok ? route(req, target) : Promise.resolve(fail(400, 'BadRequest', target.message));
    answer
      .catch((err: unknown): Reply => {
        log.error(
          { err: err instanceof Error ? err.message : String(err), path: target.ok ? target.path : req.url },
          'adapter request failed',
        );
        return fail(500, 'InternalError', 'internal error');
      })
      .then((reply) => {
        const text = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
        res.writeHead(reply.code, {
          'Content-Type': reply.contentType ?? 'application/json',
          'Content-Length': Buffer.byteLength(text),
          'Cache-Control': 'no-cache, private',
        });
        res.end(req.method === 'HEAD' ? undefined : text);
      });
  };

  const server: Server = createServer(
    {
      cert: tls.cert,
      key: tls.key,
      ...(opts.requestHeader === undefined
        ? {}
        : { requestCert: true, rejectUnauthorized: false, ca: opts.requestHeader.clientCA }),
    },
    handle,
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.address, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : opts.port;
  log.info(
    { port, address: opts.address ?? '0.0.0.0', authentication: opts.requestHeader !== undefined },
    'external metrics adapter listening',
  );
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // The aggregator keeps connections alive; do not wait for it to hang up.
        server.closeAllConnections();
      }),
  };
};

const findIgnoringCase = <T>(metrics: ReadonlyMap<string, T> | undefined, name: string): T | undefined => {
  if (metrics === undefined) return undefined;
  const lower = name.toLowerCase();
  for (const [k, v] of metrics) if (k.toLowerCase() === lower) return v;
  return undefined;
};
