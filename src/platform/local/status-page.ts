// The status page of `ebb local`: `/` is one HTML page (its script `/status.js` and style
// `/status.css`, SVG charts, no build step) that reads `/api/status` every second; `/api/status`
// is the StatusBoard's snapshot.
//
// It listens on 127.0.0.1 only, but a web page elsewhere can still reach it through DNS
// rebinding (a name of the attacker's that resolves to 127.0.0.1, read by the browser as
// same-origin). So it answers only requests whose Host (RFC 9110 §7.2) is one of its own names:
// localhost, 127.0.0.1, [::1] and those given with `--ui-allowed-host`, on its own port or none;
// anything else gets 421 Misdirected Request (RFC 9110 §15.5.20: "not able to produce a response
// for this target URI"), before anything is read. Every answer forbids framing and sniffing, and
// allows the page nothing but its own origin (no inline script or style).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { StatusSnapshot } from './status-board.ts';

/** What `/api/status` answers: the board's snapshot, the file, and the URL to send requests to. */
export interface StatusPageData extends StatusSnapshot {
  readonly file: string;
  readonly url: string | undefined;
}

export interface StatusServerOptions {
  /** Host names answered besides the loopback ones (`--ui-allowed-host`, e.g. a tunnel's name). */
  readonly allowedHosts?: readonly string[];
}

/** The names the page always answers for: it listens on 127.0.0.1. */
export const LOOPBACK_HOST_NAMES: readonly string[] = ['localhost', '127.0.0.1', '[::1]'];

const HARDENING = {
  'content-security-policy':
    "default-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; object-src 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
} as const;

/**
 * A Host header's name (lower case; an IPv6 literal keeps its brackets) and port. Host =
 * uri-host [ ":" port ], port = *DIGIT (RFC 9110 §7.2, RFC 3986 §3.2.2); an empty port is none.
 * undefined when it is not of that form.
 */
export const parseHost = (host: string): { name: string; port: number | undefined } | undefined => {
  const close = host.startsWith('[') ? host.indexOf(']') : -1;
  if (host.startsWith('[') && close < 0) return undefined;
  const colon = host.indexOf(':', close + 1);
  const name = (colon < 0 ? host : host.slice(0, colon)).toLowerCase();
  const port = colon < 0 ? '' : host.slice(colon + 1);
  if (name === '' || (close >= 0 && close !== name.length - 1) || !/^\d{0,5}$/.test(port)) return undefined;
  return { name, port: port === '' ? undefined : Number(port) };
};

/** `::1` → `[::1]`: an allowed IPv6 address is compared as a Host header writes it. */
const asHostName = (name: string): string =>
  name.includes(':') && !name.startsWith('[') ? `[${name.toLowerCase()}]` : name.toLowerCase();

const send = (res: ServerResponse, status: number, type: string, body: string, head: boolean): void => {
  res.writeHead(status, {
    ...HARDENING,
    'content-type': type,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(head ? undefined : body);
};

export const createStatusServer = (
  snapshot: () => StatusPageData,
  opts: StatusServerOptions = {},
): Server => {
  const names = new Set([...LOOPBACK_HOST_NAMES, ...(opts.allowedHosts ?? []).map(asHostName)]);
  const ours = (req: IncomingMessage): boolean => {
    const host = req.headers.host === undefined ? undefined : parseHost(req.headers.host);
    return (
      host !== undefined &&
      names.has(host.name) &&
      (host.port === undefined || host.port === req.socket.localPort)
    );
  };
  return createServer((req, res) => {
    const head = req.method === 'HEAD';
    if (!ours(req)) {
      const list = [...names].join(', ');
      const port = req.socket.localPort ?? '';
      send(
        res,
        421,
        'text/plain; charset=utf-8',
        `this server answers only for ${list} on port ${port} (add names with --ui-allowed-host)\n`,
        head,
      );
      return;
    }
    if (req.method !== 'GET' && !head) {
      res.setHeader('allow', 'GET, HEAD');
      send(res, 405, 'text/plain; charset=utf-8', 'GET or HEAD only\n', false);
      return;
    }
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/api/status') send(res, 200, 'application/json', JSON.stringify(snapshot()), head);
    else if (path === '/') send(res, 200, 'text/html; charset=utf-8', STATUS_PAGE, head);
    else if (path === '/status.js') send(res, 200, 'text/javascript; charset=utf-8', STATUS_SCRIPT, head);
    else if (path === '/status.css') send(res, 200, 'text/css; charset=utf-8', STATUS_STYLE, head);
    // Browsers ask for it on their own; no icon, and no 404 in the console.
    else if (path === '/favicon.ico') send(res, 204, 'image/x-icon', '', true);
    else send(res, 404, 'text/plain; charset=utf-8', 'not found\n', head);
  });
};

const STATUS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>ebb local</title>
<link rel="stylesheet" href="/status.css">
</head>
<body>
<h1>ebb local</h1>
<p class="intro" id="intro">loading…</p>
<div id="objects"></div>
<script src="/status.js"></script>
</body>
</html>
`;

const STATUS_STYLE = `  body { font: 14px system-ui, sans-serif; margin: 1.5rem; color: #222; }
  h1 { font-size: 1.2rem; margin-bottom: .2rem; }
  .intro { color: #555; margin: 0 0 1rem; }
  code { background: #f3f3f3; padding: 0 .3rem; border-radius: 3px; }
  .object { border: 1px solid #ccc; border-radius: 6px; padding: .8rem 1rem; margin-bottom: 1rem; max-width: 760px; }
  .object h2 { font-size: 1rem; margin: 0 0 .4rem; font-weight: 600; }
  .object h2 small { font-weight: normal; color: #666; }
  .numbers span { margin-right: 1.2rem; }
  .numbers b { font-variant-numeric: tabular-nums; }
  .state { padding: 0 .4rem; border-radius: 3px; background: #eee; }
  .state.active { background: #dff3df; }
  .problem, .error { color: #b00; }
  svg { background: #fafafa; border: 1px solid #eee; margin-top: .5rem; display: block; }
  .legend { font-size: 12px; color: #555; }
  ul { margin: .3rem 0; padding-left: 1.2rem; }
  .s-replicas { color: #1f77b4; }
  .s-ready { color: #2ca02c; }
  .s-metric { color: #ff7f0e; }
`;

// Each chart spans the object's history up to the last five minutes (at least 20 s, so
// the first seconds are not squeezed into a corner); y is scaled to the largest of the replicas
// and the metric in that span, rounded up (at least 1). Series: replicas (asked for), ready, metric.
const STATUS_SCRIPT = `const W = 720, H = 140, PAD = 14, SPAN_MAX = 300000, SPAN_MIN = 20000;
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
const fmt = (v) => v === null || v === undefined ? '–' : (Math.round(v * 100) / 100).toString();

// Step lines for counts (they hold until the next sample), straight segments for the metric.
function points(history, from, span, field, max, step) {
  const out = [];
  let prevY;
  for (const s of history) {
    const v = s[field];
    if (v === null || v === undefined || s.t < from) continue;
    const x = ((s.t - from) / span) * W;
    const y = H - PAD - (v / max) * (H - 2 * PAD);
    if (step && prevY !== undefined) out.push(x.toFixed(1) + ',' + prevY);
    out.push(x.toFixed(1) + ',' + y.toFixed(1));
    prevY = y.toFixed(1);
  }
  return out.join(' ');
}

function chart(o, now) {
  const first = o.history.length > 0 ? o.history[0].t : now;
  const span = Math.min(SPAN_MAX, Math.max(SPAN_MIN, now - first));
  const from = now - span;
  const recent = o.history.filter((s) => s.t >= from);
  const max = Math.ceil(Math.max(1, ...recent.map((s) => s.replicas), ...recent.map((s) => s.metric ?? 0)));
  const line = (series, color, width, dash, step) =>
    '<polyline data-series="' + series + '" fill="none" stroke="' + color + '" stroke-width="' + width + '"' +
    (dash ? ' stroke-dasharray="4 3"' : '') + ' points="' + points(recent, from, span, series, max, step) + '"/>';
  const metricName = o.route !== null ? 'concurrency (in flight + held, per-second average)' : 'metric (first trigger)';
  return '<svg width="' + W + '" height="' + H + '" viewBox="0 0 ' + W + ' ' + H + '" data-max="' + max + '" data-samples="' + recent.length + '">' +
    '<line x1="0" x2="' + W + '" y1="' + (H - PAD) + '" y2="' + (H - PAD) + '" stroke="#ddd"/>' +
    '<line x1="0" x2="' + W + '" y1="' + PAD + '" y2="' + PAD + '" stroke="#eee"/>' +
    line('metric', '#ff7f0e', 1.5, false, false) +
    line('replicas', '#1f77b4', 2.5, false, true) +
    line('ready', '#2ca02c', 1.5, true, true) +
    '<text x="4" y="' + (PAD - 3) + '" font-size="10" fill="#888">' + fmt(max) + '</text>' +
    '<text x="4" y="' + (H - 3) + '" font-size="10" fill="#888">' + Math.round(span / 1000) + ' s ago</text>' +
    '<text x="' + (W - 4) + '" y="' + (H - 3) + '" font-size="10" fill="#888" text-anchor="end">now</text></svg>' +
    '<div class="legend"><span class="s-replicas">━ replicas</span> &nbsp; <span class="s-ready">┅ ready</span> &nbsp; ' +
    '<span class="s-metric">━ ' + metricName + '</span></div>';
}

function render(data) {
  const html = data.objects.map((o) => {
    const failing = o.triggers.some((t) => t.error !== null);
    const triggers = o.triggers.map((t) =>
      '<li>' + esc(t.name) + ' (' + esc(t.type) + '): ' +
      (t.error !== null ? '<span class="error">' + esc(t.error) + '</span>' : 'metric ' + fmt(t.value) + ', target ' + fmt(t.target)) + '</li>').join('');
    const procs = o.processes.map((p) => esc(p.name) + ' ' + esc(p.phase) + (p.port ? ' :' + p.port : '') + (p.pid ? ' pid ' + p.pid : '') + (p.restarts ? ' (' + p.restarts + ' restarts)' : '')).join(', ');
    return '<section class="object" data-key="' + esc(o.key) + '">' +
      '<h2>ScaledObject ' + esc(o.key) + ' <small>→ LocalApp ' + esc(o.target) + (o.route ? ', route ' + esc(o.route) : '') + '</small></h2>' +
      '<div class="numbers">' +
      '<span>replicas <b data-field="replicas">' + o.replicas + '</b></span>' +
      '<span>ready <b data-field="ready">' + o.ready + '</b></span>' +
      (o.route !== null
        ? '<span>in flight <b data-field="inFlight">' + o.inFlight + '</b></span>' +
          '<span>held <b data-field="held">' + o.held + '</b></span>' +
          '<span>requests <b data-field="requests">' + o.requests + '</b></span>'
        : '') +
      '<span class="state' + (o.active ? ' active' : '') + '" data-field="active">' + (o.active ? 'active' : 'idle') + '</span></div>' +
      (o.problem && !failing ? '<div class="problem">' + esc(o.problem) + '</div>' : '') +
      '<ul>' + (triggers || '<li>not polled yet</li>') + '</ul>' +
      '<div class="legend">processes: ' + (procs || 'none') + '</div>' +
      chart(o, data.now) + '</section>';
  }).join('');
  document.getElementById('objects').innerHTML = html || '<p>no ScaledObjects</p>';
  document.getElementById('intro').innerHTML = esc(data.file) +
    (data.url ? ' · send requests to <code>' + esc(data.url) + '</code>' : '') +
    ' · updated <span id="updated">' + esc(new Date(data.now).toLocaleTimeString()) + '</span>';
}

async function refresh() {
  try {
    const res = await fetch('/api/status', { cache: 'no-store' });
    render(await res.json());
  } catch (err) {
    document.getElementById('intro').textContent = 'ebb is not answering: ' + err;
  }
}
refresh();
setInterval(refresh, 1000);
`;
