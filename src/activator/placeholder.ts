// The placeholder page: with a route's `placeholder` on, a browser asking while the route's
// Service has no ready endpoint gets this page at once instead of waiting in the hold queue, and
// the page reloads itself until the app answers. The cold start is triggered all the same.
//
// Who gets it: GET or HEAD (a reload must be safe to repeat: RFC 9110 §9.2.1), and an Accept
// header listing `text/html` with a q above 0 (RFC 9110 §12.5.1). `*/*` alone does not count:
// curl, fetch() and most API clients send it, and they want the app's answer, not a page, so
// they are held as always. Health paths (never counted, never waking the route) never get it.
//
// The answer: 503 (the service is unavailable for now, RFC 9110 §15.6.4) with `Retry-After`,
// `<meta http-equiv="refresh" content="N">` (a reload of the same URL after N seconds; no script,
// so the page works under any Content-Security-Policy), `Cache-Control: no-store` (a cached
// placeholder would outlive the cold start), `Vary: Accept` (the same URL answers others
// differently) and its own CSP forbidding everything but its inline style. The page is built
// once per route change, not per request.
//
// Pokes: the first placeholder of a cold start pokes the controller (held = 1), then at most one
// per refresh interval while the route stays cold, so a cold start whose wake-up was lost is
// asked for again by the next reload, and a crowd of reloading browsers costs one poke per
// interval, not one each.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ColdStartPlaceholder } from '../api/reasons.ts';
import type { RouteSpec } from '../routing/routes.ts';
import { DONE, type Exchange } from './exchange.ts';
import { H2Call } from './h2-call.ts';

/** A route's page, ready to send. */
export interface PlaceholderPage {
  readonly body: Buffer;
  /** Response headers as node's flat array (shared by every answer: node only reads it). */
  readonly headers: readonly string[];
  /** Milliseconds between pokes (= the reload interval). */
  readonly pokeEveryMs: number;
}

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The page of `spec`, or undefined when the route has none. */
export const placeholderPage = (spec: RouteSpec): PlaceholderPage | undefined => {
  const p = spec.placeholder;
  if (p === undefined) return undefined;
  const host = spec.hosts.find((h) => !h.startsWith('*')) ?? 'This site';
  const message = escapeHtml(p.message ?? `${host} is starting up. This page reloads by itself.`);
  const html =
    '<!doctype html><html lang="en"><head><meta charset="utf-8">' +
    `<meta http-equiv="refresh" content="${p.refreshSeconds}">` +
    '<meta name="viewport" content="width=device-width,initial-scale=1">' +
    '<title>Starting up…</title><style>body{font:1.1rem/1.5 system-ui,sans-serif;margin:20vh auto;' +
    'max-width:36rem;padding:0 1rem;color:#222}p.small{color:#666;font-size:.9rem}</style></head><body>' +
    `<h1>Starting up…</h1><p id="ebb-placeholder">${message}</p>` +
    `<p class="small">Trying again in ${p.refreshSeconds} s.</p></body></html>\n`;
  const body = Buffer.from(html);
  return {
    body,
    headers: [
      'content-type',
      'text/html; charset=utf-8',
      'content-length',
      String(body.length),
      'retry-after',
      String(p.refreshSeconds),
      'cache-control',
      'no-store',
      'vary',
      'Accept',
      'content-security-policy',
      "default-src 'none'; style-src 'unsafe-inline'",
      'x-ebb-reason',
      ColdStartPlaceholder,
    ],
    pokeEveryMs: p.refreshSeconds * 1000,
  };
};

/** GET/HEAD whose Accept lists text/html with q > 0 (see the top of this file). */
export const wantsPlaceholder = (req: Pick<IncomingMessage, 'method' | 'headers'>): boolean => {
  const method = req.method;
  if (method !== 'GET' && method !== 'HEAD') return false;
  const accept = req.headers.accept;
  return accept !== undefined && acceptsHtml(accept);
};

/**
 * Whether an Accept value lists `text/html` (case-insensitive) with a weight above 0:
 *   Accept = #( media-range [ weight ] ),  weight = OWS ";" OWS "q=" qvalue   (RFC 9110 §12.5.1)
 */
export const acceptsHtml = (accept: string): boolean => {
  for (const range of accept.split(',')) {
    const params = range.split(';');
    if ((params[0] ?? '').trim().toLowerCase() !== 'text/html') continue;
    let q = 1;
    for (let i = 1; i < params.length; i++) {
      const param = (params[i] ?? '').trim().toLowerCase();
      if (param.startsWith('q=')) q = Number(param.slice(2));
    }
    if (q > 0) return true;
  }
  return false;
};

/**
 * Answers `ex` (a counted request on a cold route, not an Upgrade) with `page` at `t`
 * (monotonic ms), poking at most once per reload interval; `close`: the activator is draining
 * and the connection closes after the answer.
 */
export const showPlaceholder = (
  ex: Exchange,
  page: PlaceholderPage,
  t: number,
  poke: (route: string, held: number) => void,
  close: boolean,
): void => {
  const route = ex.route;
  ex.state = DONE;
  if (t - route.placeholderPokedAt >= page.pokeEveryMs) {
    route.placeholderPokedAt = t;
    try {
      poke(route.key, Math.max(1, route.counters.held));
    } catch {
      // The controller's hook failing must not fail the answer (as in hold-queue.ts).
    }
  }
  const res = ex.res as ServerResponse | H2Call;
  if (res instanceof H2Call) res.writeHead(503, page.headers);
  else res.writeHead(503, close ? [...page.headers, 'connection', 'close'] : (page.headers as string[]));
  res.end(page.body);
};
