// One small JSON client over ebb's own transport (transport.ts: kubeconfig auth, one pooled
// undici Agent). Every call ebb makes to the API server goes through `request`, which
// - returns raw JSON as `unknown` (parsed with zod by the caller) or an error value, never throws;
// - counts requests by verb, so the benchmark and tests can see that an idle controller writes nothing.
// Raw JSON, not typed classes: one path keeps parsing, error mapping and counting in one place.
import { z } from 'zod';
import { type Clock, realClock } from '../../clock.ts';
import {
  ApiError,
  Conflict,
  NotFound,
  type PlatformError,
  type PlatformResult,
  Unreachable,
} from '../ports.ts';
import { type LoadOptions, loadKubeConfig as load, type RestConfig } from './kubeconfig.ts';
import {
  DEFAULT_MAX_REQUESTS,
  DEFAULT_STATUS_BURST,
  DEFAULT_STATUS_IN_FLIGHT,
  DEFAULT_STATUS_QPS,
  InFlightLimit,
  TokenBucket,
} from './rate-limit.ts';
import { ApiTransport, type Response } from './transport.ts';

export type Verb = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export const MERGE_PATCH = 'application/merge-patch+json';

export interface RequestOptions {
  readonly body?: unknown;
  readonly contentType?: string;
  readonly query?: Readonly<Record<string, string>>;
  /** Default 15 s: a request never hangs a poll or an election forever. */
  readonly timeoutMs?: number;
  /** The caller does not read a successful response (status patches): skip parsing it. */
  readonly discardBody?: boolean;
  /**
   * Skips the in-flight limit (`inFlight`): leader election's Lease requests, one at a time by
   * construction, which must not wait behind a first round's writes (a renewal that waits loses
   * the lease). The API server's Priority and Fairness has the same lane (`leader-election`).
   */
  readonly exempt?: boolean;
}

export interface KubeClientOptions {
  /** Sent on every request and watch; default `userAgent()` (version unknown). */
  readonly userAgent?: string | undefined;
  /** Status writes a second after the burst (`--status-write-qps`); default DEFAULT_STATUS_QPS. */
  readonly statusQps?: number | undefined;
  /** Status writes at once before pacing (`--status-write-burst`); default DEFAULT_STATUS_BURST. */
  readonly statusBurst?: number | undefined;
  /** Status writes in flight at once; default DEFAULT_STATUS_IN_FLIGHT. */
  readonly statusInFlight?: number | undefined;
}

const StatusSchema = z.object({ message: z.string().optional(), reason: z.string().optional() });

/** Loads a kubeconfig: the file given, else $KUBECONFIG / ~/.kube/config / in-cluster (kubeconfig.ts). */
export const loadKubeConfig = (path?: string, opts: Omit<LoadOptions, 'path'> = {}): RestConfig =>
  load({ ...opts, path });

export class KubeClient {
  /** Requests made, by verb (GET counts lists too; watches are counted as WATCH). */
  readonly requests = new Map<string, number>();
  readonly server: string;
  /** Sent on every request and watch (see `userAgent`). */
  readonly userAgent: string;
  /**
   * Status writes wait for its tokens (KubeScaledObjectWriter.patchStatus takes one, then builds
   * its patch at its turn); scale writes, Events and Leases are never held behind it. See
   * rate-limit.ts.
   */
  readonly statusPacing: TokenBucket;
  /** The connection pool and credentials; shared with `metadataOnlyClient`'s view. */
  readonly transport: ApiTransport;
  /** Every request waits for a place here (rate-limit.ts, DEFAULT_MAX_REQUESTS). */
  readonly inFlight = new InFlightLimit(DEFAULT_MAX_REQUESTS);

  /**
   * `clock`: the request timeouts and the pool's age here, and the timers and times of every
   * adapter built on this client (informer backoff, Event series, scale-target and auth waits).
   */
  constructor(
    readonly config: RestConfig,
    readonly clock: Clock = realClock,
    opts: KubeClientOptions = {},
    transport?: ApiTransport,
  ) {
    this.server = config.server;
    this.transport = transport ?? new ApiTransport(config, clock);
    this.userAgent = opts.userAgent ?? userAgent();
    this.statusPacing = new TokenBucket(
      opts.statusQps ?? DEFAULT_STATUS_QPS,
      opts.statusBurst ?? DEFAULT_STATUS_BURST,
      clock,
      opts.statusInFlight ?? DEFAULT_STATUS_IN_FLIGHT,
    );
  }

  /**
   * One request with ebb's User-Agent and the user's credentials (watches included); throws
   * what fetch throws. `accept` defaults to `acceptFor`.
   */
  fetch(
    url: string,
    method: string,
    opts: { body?: string; contentType?: string; signal?: AbortSignal; watch?: boolean } = {},
  ): Promise<Response> {
    const headers: Record<string, string> = {
      Accept: this.acceptFor(opts.watch === true),
      'User-Agent': this.userAgent,
    };
    if (opts.body !== undefined) headers['Content-Type'] = opts.contentType ?? 'application/json';
    return this.transport.fetch(url, { method, headers, body: opts.body, signal: opts.signal });
  }

  /** The Accept header of a request (a watch when `watch`); the metadata-only client overrides it. */
  acceptFor(_watch: boolean): string {
    return 'application/json';
  }

  count(verb: string): void {
    this.requests.set(verb, (this.requests.get(verb) ?? 0) + 1);
  }

  /** Writes (POST, PUT, PATCH, DELETE) made so far. */
  writes(): number {
    let n = 0;
    for (const [verb, count] of this.requests) if (verb !== 'GET' && verb !== 'WATCH') n += count;
    return n;
  }

  /** Closes the shared connection pool (after requests in flight). */
  async close(): Promise<void> {
    await this.transport.close();
  }

  async request(verb: Verb, path: string, opts: RequestOptions = {}): Promise<PlatformResult<unknown>> {
    if (opts.exempt === true) return this.sendNow(verb, path, opts);
    const turn = this.inFlight.take();
    if (turn !== undefined) await turn;
    try {
      return await this.sendNow(verb, path, opts);
    } finally {
      this.inFlight.done();
    }
  }

  private async sendNow(verb: Verb, path: string, opts: RequestOptions): Promise<PlatformResult<unknown>> {
    this.count(verb);
    const query = opts.query === undefined ? '' : new URLSearchParams(opts.query).toString();
    const url = query === '' ? this.server + path : `${this.server}${path}?${query}`;
    // Not AbortSignal.timeout(): its timer cannot be cleared and would outlive every request.
    const abort = new AbortController();
    const timer = this.clock.after(opts.timeoutMs ?? 15_000, () =>
      abort.abort(new Error('request timed out')),
    );
    try {
      const response = await this.fetch(url, verb, {
        ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }),
        ...(opts.contentType === undefined ? {} : { contentType: opts.contentType }),
        signal: abort.signal,
      });
      const text = await response.text();
      const status = response.status;
      if (status >= 200 && status < 300)
        return { ok: true, value: opts.discardBody === true ? undefined : parseJson(text) };
      return { ok: false, error: apiError(status, parseJson(text), `${verb} ${path}`) };
    } catch (err) {
      return {
        ok: false,
        error: { reason: Unreachable, message: `${verb} ${path}: ${errorMessage(err)}`, status: 0 },
      };
    } finally {
      this.clock.cancel(timer);
    }
  }
}

const parseJson = (text: string): unknown => {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
};

const apiError = (status: number, body: unknown, what: string): PlatformError => {
  const parsed = StatusSchema.safeParse(body);
  const message = parsed.success && parsed.data.message !== undefined ? parsed.data.message : String(body);
  const reason = status === 404 ? NotFound : status === 409 ? Conflict : ApiError;
  return { reason, message: `${what}: ${status} ${message}`, status };
};

export const errorMessage = (err: unknown): string => {
  if (err instanceof Error) {
    const cause = (err as Error & { cause?: unknown }).cause;
    return cause instanceof Error ? `${err.message} (${cause.message})` : err.message;
  }
  return String(err);
};

// Node's names → Go's GOARCH, which Kubernetes' own User-Agents use (`linux/amd64`).
const GO_ARCH: Readonly<Record<string, string>> = { x64: 'amd64', ia32: '386' };

/**
 * client-go's convention, `<command>/<version> (<os>/<arch>) <component>`, as kubectl sends
 * `kubectl/v1.35.4 (linux/amd64) kubernetes/<commit>`: API Priority and Fairness rules, audit
 * logs and `apiserver_request_total` then name ebb, its version and the command (`run`,
 * `activator`), not `undici`. The version comes from the wiring (src/cli), which reads it from
 * package.json; without one it says `unknown`.
 */
export const userAgent = (version = 'unknown', command = 'ebb'): string =>
  `ebb/${version} (${process.platform}/${GO_ARCH[process.arch] ?? process.arch}) ${command}`;

/** `apps/v1` → `/apis/apps/v1`; `v1` → `/api/v1`. */
export const apiVersionPath = (apiVersion: string): string =>
  apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
