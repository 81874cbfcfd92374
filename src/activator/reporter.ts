// A standalone activator's line to the controllers (`ebb activator --controller-url URL`, one or
// more): stats every second, pokes at once, a goodbye on drain, POSTed as JSON to each URL's
// /v1/activator/{stats,poke,goodbye} (src/controller/activator-reports.ts is the other end).
//
// Never in the data path's way: every call returns at once (fire and forget); a URL whose last
// stats push is still under way skips this one (the next carries newer counters anyway); pokes
// in flight per URL are bounded; every request has a timeout. Failures are logged once per URL
// when it starts failing and once when it recovers, not once per push.
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
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

export interface ActivatorReporterOptions {
  /** Base URLs of the controllers (each replica: a standby keeps its feed warm). */
  readonly urls: readonly string[];
  readonly log: Logger;
  /** Per request; default 2000 ms (a push a second must not pile up). */
  readonly timeoutMs?: number;
  /** Pokes in flight per URL beyond which new ones are dropped; default 64. */
  readonly maxPokesInFlight?: number;
}

interface Target {
  readonly base: URL;
  statsBusy: boolean;
  pokesInFlight: number;
  /** The error it is failing with, logged once; undefined while healthy. */
  failing: string | undefined;
}

const MAX_ERROR_BODY = 512;

export class ActivatorReporter {
  private readonly targets: Target[];
  private readonly http = new HttpAgent({ keepAlive: true, maxSockets: 8, timeout: 30_000 });
  private readonly https = new HttpsAgent({ keepAlive: true, maxSockets: 8, timeout: 30_000 });
  private readonly timeoutMs: number;
  private readonly maxPokes: number;

  constructor(private readonly opts: ActivatorReporterOptions) {
    this.timeoutMs = opts.timeoutMs ?? 2_000;
    this.maxPokes = opts.maxPokesInFlight ?? 64;
    this.targets = opts.urls.map((u) => {
      const base = new URL(u);
      if (base.protocol !== 'http:' && base.protocol !== 'https:')
        throw new Error(`--controller-url ${u}: must be an http:// or https:// URL`);
      return { base, statsBusy: false, pokesInFlight: 0, failing: undefined };
    });
  }

  /** Pushes a snapshot to every URL not still busy with the previous one. */
  stats(stats: ActivatorStats): void {
    const body = JSON.stringify(stats);
    for (const t of this.targets) {
      if (t.statsBusy) continue;
      t.statsBusy = true;
      void this.post(t, REPORT_PATHS.stats, body).finally(() => {
        t.statsBusy = false;
      });
    }
  }

  /** Tells every URL at once. */
  poke(poke: PokeReport): void {
    const body = JSON.stringify(poke);
    for (const t of this.targets) {
      if (t.pokesInFlight >= this.maxPokes) continue;
      t.pokesInFlight++;
      void this.post(t, REPORT_PATHS.poke, body).finally(() => {
        t.pokesInFlight--;
      });
    }
  }

  /** The activator is leaving: its counters leave the sums at once. Resolves when every URL answered or timed out. */
  async goodbye(activator: string): Promise<void> {
    const body = JSON.stringify({ activator });
    await Promise.all(this.targets.map((t) => this.post(t, REPORT_PATHS.goodbye, body)));
  }

  close(): void {
    this.http.destroy();
    this.https.destroy();
  }

  /** One POST; resolves (never rejects) when answered, failed or timed out. */
  private post(t: Target, path: string, body: string): Promise<void> {
    return new Promise<void>((resolve) => {
      const url = new URL(path, t.base);
      const secure = url.protocol === 'https:';
      const send = secure ? httpsRequest : httpRequest;
      const req = send(
        url,
        {
          method: 'POST',
          agent: secure ? this.https : this.http,
          timeout: this.timeoutMs,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res: IncomingMessage) => {
          const status = res.statusCode ?? 0;
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => {
            if (text.length < MAX_ERROR_BODY) text += c;
          });
          res.on('end', () => {
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
      req.on('error', (err: Error & { code?: string }) => {
        this.failed(t, err.code === undefined ? err.message : `${err.message} (${err.code})`);
        resolve();
      });
      req.end(body);
    });
  }

  private failed(t: Target, why: string): void {
    if (t.failing !== undefined) return;
    t.failing = why;
    this.opts.log.warn(
      { controller: t.base.href, err: why },
      'cannot report to the controller; retrying with every push (logged once until it recovers)',
    );
  }

  private healthy(t: Target): void {
    if (t.failing === undefined) return;
    this.opts.log.info({ controller: t.base.href, was: t.failing }, 'reporting to the controller again');
    t.failing = undefined;
  }
}
