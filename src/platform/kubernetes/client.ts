// One small JSON client over @kubernetes/client-node's transport (its auth, TLS agent cache and
// fetch). Every call ebb makes to the API server goes through `request`, which
// - returns raw JSON as `unknown` (parsed with zod by the caller) or an error value, never throws;
// - counts requests by verb, so the benchmark and tests can see that an idle controller writes nothing.
// The generated typed APIs deserialize into classes (Dates, V1MicroTime) that we would only
// convert back; one raw path keeps parsing, error mapping and counting in one place.
import {
  HttpMethod,
  IsomorphicFetchHttpLibrary,
  KubeConfig,
  PatchStrategy,
  RequestContext,
} from '@kubernetes/client-node';
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
import {
  DEFAULT_MAX_REQUESTS,
  DEFAULT_STATUS_BURST,
  DEFAULT_STATUS_IN_FLIGHT,
  DEFAULT_STATUS_QPS,
  InFlightLimit,
  TokenBucket,
} from './rate-limit.ts';

export type Verb = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export const MERGE_PATCH = PatchStrategy.MergePatch;

export interface RequestOptions {
  readonly body?: unknown;
  readonly contentType?: string;
  readonly query?: Readonly<Record<string, string>>;
  /** Default 15 s: a request never hangs a poll or an election forever. */
  readonly timeoutMs?: number;
  /** The caller does not read a successful response (status patches): skip parsing it. */
  readonly discardBody?: boolean;
  /**
   * Waits for a token of `statusPacing` first (status writes: the first round over every object
   * is the one burst a controller makes; scale writes, Events and Leases are not held behind it).
   */
  readonly paced?: boolean;
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

const METHOD: Readonly<Record<Verb, HttpMethod>> = {
  GET: HttpMethod.GET,
  POST: HttpMethod.POST,
  PUT: HttpMethod.PUT,
  PATCH: HttpMethod.PATCH,
  DELETE: HttpMethod.DELETE,
};

/** Loads a kubeconfig: the file given, else $KUBECONFIG / ~/.kube/config / in-cluster. */
export const loadKubeConfig = (path?: string): KubeConfig => {
  const kc = new KubeConfig();
  if (path !== undefined && path !== '') kc.loadFromFile(path);
  else kc.loadFromDefault();
  return kc;
};

type Dispatcher = NonNullable<ReturnType<RequestContext['getDispatcher']>>;

/** How long one connection pool is used before a fresh one picks up rotated client certs. */
const DISPATCHER_TTL_MS = 10 * 60_000;

export class KubeClient {
  /** Requests made, by verb (GET counts lists too; watches are counted as WATCH). */
  readonly requests = new Map<string, number>();
  readonly server: string;
  /** Sent on every request and watch (see `userAgent`). */
  readonly userAgent: string;
  /** Requests with `paced` (status writes) wait for its tokens; see rate-limit.ts. */
  readonly statusPacing: TokenBucket;
  /** Every request waits for a place here (rate-limit.ts, DEFAULT_MAX_REQUESTS). */
  readonly inFlight = new InFlightLimit(DEFAULT_MAX_REQUESTS);
  private readonly http = new IsomorphicFetchHttpLibrary();
  // client-node's applySecurityAuthentication builds a NEW undici Agent for every request, so
  // every request would open its own TLS connection (a handshake each, sockets lingering until
  // their keep-alive timeout: at 10,000 objects, hundreds of MB and most of the CPU). We keep
  // the auth headers it sets per request but send everything through one pooled Agent.
  private dispatcher: Dispatcher | undefined;
  private dispatcherSince = 0;

  /**
   * `clock`: the request timeouts and the pool's age here, and the timers and times of every
   * adapter built on this client (informer backoff, Event series, scale-target and auth waits).
   */
  constructor(
    readonly kubeConfig: KubeConfig,
    readonly clock: Clock = realClock,
    opts: KubeClientOptions = {},
  ) {
    const cluster = kubeConfig.getCurrentCluster();
    this.server = cluster?.server ?? '';
    this.userAgent = opts.userAgent ?? userAgent();
    this.statusPacing = new TokenBucket(
      opts.statusQps ?? DEFAULT_STATUS_QPS,
      opts.statusBurst ?? DEFAULT_STATUS_BURST,
      clock,
      opts.statusInFlight ?? DEFAULT_STATUS_IN_FLIGHT,
    );
  }

  /** The kubeconfig's credentials and ebb's User-Agent on one request (watches included). */
  async authenticate(ctx: RequestContext): Promise<void> {
    await this.kubeConfig.applySecurityAuthentication(ctx);
    ctx.setHeaderParam('User-Agent', this.userAgent);
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
    const d = this.dispatcher;
    this.dispatcher = undefined;
    await d?.close().catch(() => {});
  }

  /** Sends the request through the shared Agent instead of the fresh one it was given. */
  private shareDispatcher(ctx: RequestContext): void {
    const fresh = ctx.getDispatcher();
    if (fresh === undefined) return; // plain http: no TLS agent involved
    const now = this.clock.now();
    if (this.dispatcher === undefined || now - this.dispatcherSince > DISPATCHER_TTL_MS) {
      const old = this.dispatcher;
      this.dispatcher = fresh;
      this.dispatcherSince = now;
      // Requests in flight on the old pool finish; close() waits for them.
      void old?.close().catch(() => {});
      return;
    }
    ctx.setDispatcher(this.dispatcher);
  }

  async request(verb: Verb, path: string, opts: RequestOptions = {}): Promise<PlatformResult<unknown>> {
    if (this.server === '') {
      return {
        ok: false,
        error: { reason: Unreachable, message: 'the kubeconfig names no current cluster', status: 0 },
      };
    }
    if (opts.paced === true) {
      const paced = this.statusPacing.take();
      if (paced !== undefined) await paced;
      try {
        return await this.send(verb, path, opts);
      } finally {
        this.statusPacing.done();
      }
    }
    return this.send(verb, path, opts);
  }

  private async send(verb: Verb, path: string, opts: RequestOptions): Promise<PlatformResult<unknown>> {
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
    const url = new URL(this.server + path);
    for (const [k, v] of Object.entries(opts.query ?? {})) url.searchParams.set(k, v);
    const ctx = new RequestContext(url.toString(), METHOD[verb]);
    ctx.setHeaderParam('Accept', 'application/json');
    if (opts.body !== undefined) {
      ctx.setHeaderParam('Content-Type', opts.contentType ?? 'application/json');
      ctx.setBody(JSON.stringify(opts.body));
    }
    // Not AbortSignal.timeout(): its timer cannot be cleared and would outlive every request.
    const abort = new AbortController();
    const timer = this.clock.after(opts.timeoutMs ?? 15_000, () =>
      abort.abort(new Error('request timed out')),
    );
    ctx.setSignal(abort.signal);
    try {
      await this.authenticate(ctx);
      this.shareDispatcher(ctx);
      const response = await this.http.send(ctx).toPromise();
      const text = await response.body.text();
      const status = response.httpStatusCode;
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
