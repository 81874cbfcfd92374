// A standalone activator's line to the controllers (`ebb activator --controller-url URL`, one or
// more): stats every second, pokes at once, a goodbye on drain, POSTed as JSON to
// /v1/activator/{stats,poke,goodbye} of every controller each URL names (the other end is
// src/controller/activator-reports.ts).
//
// Fan-out: in a cluster the URL names a headless Service whose name resolves to every controller
// pod, and only the leader acts on a poke, so a URL with a host name is resolved
// (`lookup(host, { all: true })`) and each address gets its own copy, with the URL's Host header
// and TLS server name. Resolved at start, every `resolveEveryMs`, and after a connection error
// (at most once per `minResolveGapMs`); a failed resolution keeps the last addresses. An IP
// literal or `localhost` is posted to as it is, never resolved.
//
// Every request carries the activator's ServiceAccount token (`credentials`, report-token.ts) as
// `Authorization: Bearer`; a 401 makes it read the token file again (it may have rotated).
//
// Never in the data path's way: every call returns at once (fire and forget); an address whose
// last stats push is still under way skips this one (the next carries newer counters anyway);
// pokes in flight per address are bounded; every request has a timeout. Failures are logged once
// per address when it starts failing and once when it recovers, not once per push.
import { lookup } from 'node:dns/promises';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { type Clock, realClock, type Timer } from '../clock.ts';
import type { Logger } from '../logging.ts';
import type { ActivatorStats } from './stats.ts';

export const REPORT_PATHS = {
  stats: '/v1/activator/stats',
  poke: '/v1/activator/poke',
  goodbye: '/v1/activator/goodbye',
} as const;

export interface PokeReport {
  readonly activator: string;
  readonly route: string;
  readonly held: number;
  /** ms since the epoch. */
  readonly at: number;
  /** A snapshot taken with the poke, so the poll it starts sees the held requests. */
  readonly stats?: ActivatorStats;
}

/**
 * The bearer token every report carries (the controller verifies it with a TokenReview);
 * src/activator/report-token.ts reads it from the ServiceAccount token file.
 */
export interface ReportCredentials {
  /** The token to send now; undefined: none. */
  current(): string | undefined;
  /** A controller answered 401: the token may have been rotated; read it again soon. */
  rejected(): void;
}

/** A host name → every address it names (a headless Service: one per controller pod). */
export type ResolveHost = (host: string) => Promise<readonly string[]>;

/** node:dns `lookup` with `all: true` (getaddrinfo: /etc/hosts, then the cluster DNS). */
export const lookupAll: ResolveHost = async (host) =>
  (await lookup(host, { all: true })).map((a) => a.address);

export interface ActivatorReporterOptions {
  /** Base URLs of the controllers (each replica: a standby keeps its feed warm). */
  readonly urls: readonly string[];
  readonly log: Logger;
  /** Per request, and per resolution; default 2000 ms (a push a second must not pile up). */
  readonly timeoutMs?: number;
  /** Pokes in flight per address beyond which new ones are dropped; default 64. */
  readonly maxPokesInFlight?: number;
  /** Resolves a URL's host name; default `lookupAll`. */
  readonly resolve?: ResolveHost;
  /** How often each URL's name is resolved again; default 10 s (controller pods come and go). */
  readonly resolveEveryMs?: number;
  /**
   * A connection error resolves again, but not sooner than this after the last resolution;
   * default 5 s (an address that stays listed but dead must not cost a lookup per push).
   */
  readonly minResolveGapMs?: number;
  /** Extra CA certificates (PEM) trusted for https:// URLs; default Node's bundled ones. */
  readonly ca?: string;
  /** The re-resolve interval, the resolution timeout and its gap; default realClock. */
  readonly clock?: Clock;
  /** The token sent as `Authorization: Bearer`; default none. */
  readonly credentials?: ReportCredentials;
}

/** One place a URL's reports go: one resolved address, or the URL itself when not resolved. */
interface Target {
  readonly url: ControllerUrl;
  /** Connect here; undefined: the URL's own host. */
  readonly address: string | undefined;
  statsBusy: boolean;
  pokesInFlight: number;
  /** The error it is failing with, logged once; undefined while healthy. */
  failing: string | undefined;
}

interface ControllerUrl {
  readonly base: URL;
  /** The URL's host without IPv6 brackets. */
  readonly hostname: string;
  /** A host name resolved to its addresses (false: an IP literal or localhost). */
  readonly named: boolean;
  targets: Target[];
  resolving: Promise<void> | undefined;
  /** clock.now() when the last resolution ended; -Infinity before the first. */
  resolvedAt: number;
  /** Why the last resolution failed, logged once; undefined while it resolves. */
  unresolved: string | undefined;
  /** The newest stats body, sent once the first resolution gives addresses. */
  pendingStats: string | undefined;
  /** Pokes waiting for the first addresses (bounded like pokes in flight). */
  pendingPokes: string[];
}

const MAX_ERROR_BODY = 512;

const errorText = (err: unknown): string => {
  if (!(err instanceof Error)) return String(err);
  const code = (err as Error & { code?: string }).code;
  return code === undefined || err.message.includes(code) ? err.message : `${err.message} (${code})`;
};

export class ActivatorReporter {
  private readonly urls: ControllerUrl[];
  private readonly http = new HttpAgent({ keepAlive: true, maxSockets: 8, timeout: 30_000 });
  private readonly https: HttpsAgent;
  private readonly timeoutMs: number;
  private readonly maxPokes: number;
  private readonly resolve: ResolveHost;
  private readonly minResolveGapMs: number;
  private readonly timer: Timer | undefined;
  private readonly clock: Clock;
  private closed = false;

  constructor(private readonly opts: ActivatorReporterOptions) {
    this.clock = opts.clock ?? realClock;
    this.timeoutMs = opts.timeoutMs ?? 2_000;
    this.maxPokes = opts.maxPokesInFlight ?? 64;
    this.resolve = opts.resolve ?? lookupAll;
    this.minResolveGapMs = opts.minResolveGapMs ?? 5_000;
    this.https = new HttpsAgent({
      keepAlive: true,
      maxSockets: 8,
      timeout: 30_000,
      ...(opts.ca === undefined ? {} : { ca: opts.ca }),
    });
    this.urls = opts.urls.map((u) => {
      const base = new URL(u);
      if (base.protocol !== 'http:' && base.protocol !== 'https:')
        throw new Error(`--controller-url ${u}: must be an http:// or https:// URL`);
      const hostname = base.hostname.replace(/^\[(.*)\]$/, '$1');
      const named = isIP(hostname) === 0 && hostname.toLowerCase() !== 'localhost';
      const c: ControllerUrl = {
        base,
        hostname,
        named,
        targets: [],
        resolving: undefined,
        resolvedAt: Number.NEGATIVE_INFINITY,
        unresolved: undefined,
        pendingStats: undefined,
        pendingPokes: [],
      };
      if (!named) c.targets = [this.target(c, undefined)];
      return c;
    });
    const named = this.urls.filter((c) => c.named);
    for (const c of named) void this.refresh(c);
    if (named.length > 0) {
      this.timer = this.clock.every(opts.resolveEveryMs ?? 10_000, () => {
        for (const c of named) void this.refresh(c, true);
      });
      this.timer.unref();
    }
  }

  /** Pushes a snapshot to every address not still busy with the previous one. */
  stats(stats: ActivatorStats): void {
    const body = JSON.stringify(stats);
    for (const c of this.urls) {
      if (c.targets.length === 0) {
        c.pendingStats = body;
        void this.refresh(c);
        continue;
      }
      for (const t of c.targets) this.pushStats(t, body);
    }
  }

  /** Tells every address at once. */
  poke(poke: PokeReport): void {
    const body = JSON.stringify(poke);
    for (const c of this.urls) {
      if (c.targets.length === 0) {
        if (c.pendingPokes.length < this.maxPokes) c.pendingPokes.push(body);
        void this.refresh(c);
        continue;
      }
      for (const t of c.targets) this.pushPoke(t, body);
    }
  }

  /** The activator is leaving: its counters leave the sums at once. Resolves when every address answered or timed out. */
  async goodbye(activator: string): Promise<void> {
    const body = JSON.stringify({ activator });
    await Promise.all(
      this.urls.map(async (c) => {
        if (c.targets.length === 0) await this.refresh(c, true);
        await Promise.all(c.targets.map((t) => this.post(t, REPORT_PATHS.goodbye, body)));
      }),
    );
  }

  /** The addresses each URL reports to now (an IP literal or localhost URL: itself). */
  addresses(): Record<string, string[]> {
    return Object.fromEntries(
      this.urls.map((c) => [c.base.href, c.targets.map((t) => t.address ?? c.hostname)]),
    );
  }

  close(): void {
    this.closed = true;
    this.clock.cancel(this.timer);
    this.http.destroy();
    this.https.destroy();
  }

  private target(url: ControllerUrl, address: string | undefined): Target {
    return { url, address, statsBusy: false, pokesInFlight: 0, failing: undefined };
  }

  private pushStats(t: Target, body: string): void {
    if (t.statsBusy) return;
    t.statsBusy = true;
    void this.post(t, REPORT_PATHS.stats, body).finally(() => {
      t.statsBusy = false;
    });
  }

  private pushPoke(t: Target, body: string): void {
    if (t.pokesInFlight >= this.maxPokes) return;
    t.pokesInFlight++;
    void this.post(t, REPORT_PATHS.poke, body).finally(() => {
      t.pokesInFlight--;
    });
  }

  /**
   * Resolves `c`'s name again unless a resolution is under way (then: that one) or, unless
   * `force`, the last ended less than minResolveGapMs ago. Never rejects.
   */
  private refresh(c: ControllerUrl, force = false): Promise<void> {
    if (!c.named || this.closed) return Promise.resolve();
    if (c.resolving !== undefined) return c.resolving;
    if (!force && this.clock.now() - c.resolvedAt < this.minResolveGapMs) return Promise.resolve();
    let timer: Timer | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = this.clock.after(this.timeoutMs, () =>
        reject(new Error(`no answer within ${this.timeoutMs} ms`)),
      );
    });
    const resolving = Promise.resolve(c.hostname).then((host) => this.resolve(host));
    c.resolving = Promise.race([resolving, timedOut])
      .then(
        (addresses) => this.resolved(c, addresses),
        (err: unknown) => this.unresolvable(c, errorText(err)),
      )
      .finally(() => {
        this.clock.cancel(timer);
        c.resolving = undefined;
        c.resolvedAt = this.clock.now();
        if (!this.closed) this.flushPending(c);
      });
    return c.resolving;
  }

  /** Keeps the state of the addresses still named, adds the new ones, drops the rest. */
  private resolved(c: ControllerUrl, addresses: readonly string[]): void {
    const unique = [...new Set(addresses)];
    if (unique.length === 0) {
      this.unresolvable(c, 'the name resolves to no address');
      return;
    }
    const before = new Map(c.targets.map((t) => [t.address, t]));
    const changed = unique.length !== c.targets.length || unique.some((a) => !before.has(a));
    c.targets = unique.map((a) => before.get(a) ?? this.target(c, a));
    if (c.unresolved !== undefined) {
      this.opts.log.info(
        { controller: c.base.href, was: c.unresolved, addresses: unique },
        'the controller URL resolves again',
      );
      c.unresolved = undefined;
    } else if (changed) {
      this.opts.log.info({ controller: c.base.href, addresses: unique }, 'reporting to these controllers');
    }
  }

  private unresolvable(c: ControllerUrl, why: string): void {
    if (c.unresolved !== undefined) return;
    c.unresolved = why;
    this.opts.log.warn(
      { controller: c.base.href, err: why, addresses: c.targets.map((t) => t.address) },
      `cannot resolve the controller URL's host ${c.hostname}; reporting to the last addresses it had (logged once until it resolves)`,
    );
  }

  /** What waited for the first addresses goes now (or waits for the next resolution). */
  private flushPending(c: ControllerUrl): void {
    if (c.targets.length === 0) return;
    const stats = c.pendingStats;
    const pokes = c.pendingPokes.splice(0);
    c.pendingStats = undefined;
    for (const t of c.targets) {
      if (stats !== undefined) this.pushStats(t, stats);
      for (const body of pokes) this.pushPoke(t, body);
    }
  }

  /** One POST; resolves (never rejects) when answered, failed or timed out. */
  private post(t: Target, path: string, body: string): Promise<void> {
    return new Promise<void>((resolve) => {
      const c = t.url;
      const url = new URL(path, c.base);
      const secure = url.protocol === 'https:';
      const send = secure ? httpsRequest : httpRequest;
      const token = this.opts.credentials?.current();
      const req = send(
        {
          protocol: url.protocol,
          // A resolved address is the connection's host (and the agent's pool key); the URL's
          // host stays in the Host header and, for https, in the server name checked.
          host: t.address ?? c.hostname,
          port: url.port === '' ? (secure ? 443 : 80) : Number(url.port),
          path: url.pathname + url.search,
          method: 'POST',
          agent: secure ? this.https : this.http,
          timeout: this.timeoutMs,
          ...(secure && c.named ? { servername: c.hostname } : {}),
          headers: {
            host: url.host,
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
          },
        },
        (res: IncomingMessage) => {
          const status = res.statusCode ?? 0;
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            if (text.length < MAX_ERROR_BODY) text += chunk;
          });
          res.on('end', () => {
            if (status === 401) this.opts.credentials?.rejected();
            if (status >= 200 && status < 300) this.healthy(t);
            else this.failed(t, `${path} answered ${status}: ${text.trim().slice(0, MAX_ERROR_BODY)}`);
            resolve();
          });
          res.on('error', (err) => {
            this.failed(t, err.message);
            resolve();
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      req.on('error', (err: Error) => {
        this.failed(t, errorText(err));
        // The pod behind this address may be gone and another one up: ask the name again.
        void this.refresh(c);
        resolve();
      });
      req.end(body);
    });
  }

  private failed(t: Target, why: string): void {
    if (t.failing !== undefined) return;
    t.failing = why;
    this.opts.log.warn(
      { controller: t.url.base.href, address: t.address, err: why },
      'cannot report to the controller; retrying with every push (logged once until it recovers)',
    );
  }

  private healthy(t: Target): void {
    if (t.failing === undefined) return;
    this.opts.log.info(
      { controller: t.url.base.href, address: t.address, was: t.failing },
      'reporting to the controller again',
    );
    t.failing = undefined;
  }
}
