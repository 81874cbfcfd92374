// The two observability listeners of every ebb process: Prometheus /metrics (`--metrics-port`)
// and /healthz + /readyz (`--health-port`), on separate ports so a NetworkPolicy or a Service
// can expose one without the other. Wiring for `ebb run` and `ebb activator`.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../logging.ts';
import { parseRequestTarget } from '../request-target.ts';
import { createHealthServer, type HealthChecks } from './health.ts';

/** What /metrics renders: EbbMetrics, or anything with its two members. */
export interface MetricsSource {
  render(): Promise<string>;
  readonly contentType: string;
}

/** A server answering GET /metrics (everything else 404); the caller listens. */
export const createMetricsServer = (metrics: MetricsSource, log?: Logger): Server =>
  createServer((req, res) => {
    const target = parseRequestTarget(req.url);
    if (!target.ok) {
      res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' }).end(`${target.message}\n`);
      return;
    }
    if ((req.method !== 'GET' && req.method !== 'HEAD') || target.path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
      return;
    }
    metrics.render().then(
      (text) => {
        res.writeHead(200, { 'content-type': metrics.contentType, 'cache-control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      (err: unknown) => {
        log?.error({ err: err instanceof Error ? err.message : String(err) }, 'cannot render metrics');
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('cannot render metrics\n');
      },
    );
  });

/** Listens on `port` (0: any free one); resolves to `http://host:port`. */
export const listen = (server: Server, port: number, address?: string): Promise<string> =>
  new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => {
      server.off('error', reject);
      const bound = server.address() as AddressInfo;
      const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
      resolve(`http://${host}:${bound.port}`);
    });
  });

const close = (server: Server): Promise<void> =>
  new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });

export interface ObservabilityOptions {
  readonly metrics: MetricsSource;
  readonly health: HealthChecks;
  /** Port for /metrics; undefined: not served; 0: any free port (tests). The flag's 0 maps to undefined. */
  readonly metricsPort?: number | undefined;
  /** Port for /healthz and /readyz; same rules. */
  readonly healthPort?: number | undefined;
  /** Listen address; default all interfaces. */
  readonly address?: string | undefined;
  readonly log?: Logger;
}

export interface ObservabilityServers {
  /** `http://host:port` of /metrics, when served. */
  readonly metricsUrl: string | undefined;
  /** `http://host:port` of /healthz and /readyz, when served. */
  readonly healthUrl: string | undefined;
  close(): Promise<void>;
}

/** Starts the listeners asked for; a port in use rejects (and closes what was started). */
export const serveObservability = async (opts: ObservabilityOptions): Promise<ObservabilityServers> => {
  const servers: Server[] = [];
  const start = async (port: number | undefined, make: () => Server): Promise<string | undefined> => {
    if (port === undefined) return undefined;
    const server = make();
    servers.push(server);
    return listen(server, port, opts.address);
  };
  try {
    const metricsUrl = await start(opts.metricsPort, () => createMetricsServer(opts.metrics, opts.log));
    const healthUrl = await start(opts.healthPort, () => createHealthServer(opts.health));
    return {
      metricsUrl,
      healthUrl,
      close: async () => {
        await Promise.all(servers.map(close));
      },
    };
  } catch (err) {
    await Promise.all(servers.filter((s) => s.listening).map(close));
    throw err;
  }
};

/** A CLI flag's port to a listener's: 0 means "do not serve". */
export const servedPort = (flag: number): number | undefined => (flag === 0 ? undefined : flag);
