// /healthz (liveness) and /readyz (readiness) from named checks, answered the way the
// kube-apiserver answers its own: 200 `ok`, or 503 with one `[-]name failed: why` line per
// failing check (`?verbose` lists the passing ones as `[+]name ok` too). Parts of ebb register
// their checks: the controller "informers" (synced), the adapter "readings" (fresh).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { parseRequestTarget } from '../request-target.ts';

/** `true` when healthy, else a short reason. Checks are synchronous, cheap, and may throw. */
export type HealthCheck = () => true | string;

export type Probe = 'healthz' | 'readyz';

export interface ProbeResult {
  readonly ok: boolean;
  /** One `[+]name ok` / `[-]name failed: why` line per check, in registration order. */
  readonly lines: readonly string[];
}

export class HealthChecks {
  private readonly checks: Record<Probe, Map<string, HealthCheck>> = {
    healthz: new Map(),
    readyz: new Map(),
  };

  /** Adds a liveness check (failing it makes the kubelet restart the container); returns its removal. */
  addLiveness(name: string, check: HealthCheck): () => void {
    return this.add('healthz', name, check);
  }

  /** Adds a readiness check (failing it takes the pod out of its Services); returns its removal. */
  addReadiness(name: string, check: HealthCheck): () => void {
    return this.add('readyz', name, check);
  }

  run(probe: Probe): ProbeResult {
    let ok = true;
    const lines: string[] = [];
    for (const [name, check] of this.checks[probe]) {
      let result: true | string;
      try {
        result = check();
      } catch (err) {
        result = err instanceof Error ? err.message : String(err);
      }
      if (result === true) lines.push(`[+]${name} ok`);
      else {
        ok = false;
        lines.push(`[-]${name} failed: ${result}`);
      }
    }
    return { ok, lines };
  }

  private add(probe: Probe, name: string, check: HealthCheck): () => void {
    const checks = this.checks[probe];
    if (checks.has(name)) throw new Error(`${probe} check "${name}" is already registered`);
    checks.set(name, check);
    return () => {
      if (checks.get(name) === check) checks.delete(name);
    };
  }
}

/** The response body: `ok` when healthy and not verbose, else every (or every failing) line. */
export const probeBody = (probe: Probe, result: ProbeResult, verbose: boolean): string => {
  if (result.ok && !verbose) return 'ok\n';
  const shown = verbose ? result.lines : result.lines.filter((l) => l.startsWith('[-]'));
  return `${shown.join('\n')}\n${probe} check ${result.ok ? 'passed' : 'failed'}\n`;
};

const handle = (checks: HealthChecks, req: IncomingMessage, res: ServerResponse): void => {
  const target = parseRequestTarget(req.url);
  if (!target.ok) {
    res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' }).end(`${target.message}\n`);
    return;
  }
  const probe = target.path.slice(1);
  if ((req.method !== 'GET' && req.method !== 'HEAD') || (probe !== 'healthz' && probe !== 'readyz')) {
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
    return;
  }
  const result = checks.run(probe);
  res
    .writeHead(result.ok ? 200 : 503, {
      'content-type': 'text/plain; charset=utf-8',
      'cache-control': 'no-store',
    })
    .end(req.method === 'HEAD' ? undefined : probeBody(probe, result, target.query.has('verbose')));
};

/** A server for /healthz and /readyz (everything else 404); the caller listens. */
export const createHealthServer = (checks: HealthChecks): Server =>
  createServer((req, res) => handle(checks, req, res));
