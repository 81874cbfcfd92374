// The status page of `ebb local`: `/` is one HTML page (inline script, SVG charts, no build
// step) that reads `/api/status` every second; `/api/status` is the StatusBoard's snapshot.
import { createServer, type Server } from 'node:http';
import type { StatusSnapshot } from './status-board.ts';

export const createStatusServer = (snapshot: () => StatusSnapshot): Server =>
  createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/api/status') {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(snapshot()));
      return;
    }
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(STATUS_PAGE);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  });

// The chart spans the last five minutes; x is time, y is scaled to the larger of the
// replicas and the metric seen in that span (at least 1).
const STATUS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>ebb local</title>
<style>
  body { font: 14px system-ui, sans-serif; margin: 1.5rem; color: #222; }
  h1 { font-size: 1.2rem; }
  .object { border: 1px solid #ccc; border-radius: 6px; padding: .8rem 1rem; margin-bottom: 1rem; max-width: 760px; }
  .object h2 { font-size: 1rem; margin: 0 0 .4rem; }
  .numbers span { margin-right: 1.2rem; }
  .numbers b { font-variant-numeric: tabular-nums; }
  .problem, .error { color: #b00; }
  svg { background: #fafafa; border: 1px solid #eee; margin-top: .5rem; }
  .legend { font-size: 12px; color: #555; }
  .replicas { stroke: #1f77b4; } .metric { stroke: #ff7f0e; }
  ul { margin: .3rem 0; padding-left: 1.2rem; }
</style>
</head>
<body>
<h1>ebb local</h1>
<p id="updated">loading…</p>
<div id="objects"></div>
<script>
const W = 720, H = 140, SPAN = 300000;
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
const fmt = (v) => v === null || v === undefined ? '–' : (Math.round(v * 100) / 100).toString();

function points(history, now, field, max, step) {
  const out = [];
  let prev;
  for (const s of history) {
    const v = s[field];
    if (v === null || v === undefined) continue;
    const x = ((s.t - (now - SPAN)) / SPAN) * W;
    if (x < 0) continue;
    const y = H - 4 - (v / max) * (H - 8);
    if (step && prev !== undefined) out.push(x.toFixed(1) + ',' + prev);
    out.push(x.toFixed(1) + ',' + y.toFixed(1));
    prev = y.toFixed(1);
  }
  return out.join(' ');
}

function chart(o, now) {
  const recent = o.history.filter((s) => s.t >= now - SPAN);
  const max = Math.max(1, ...recent.map((s) => s.replicas), ...recent.map((s) => s.metric ?? 0));
  return '<svg width="' + W + '" height="' + H + '" viewBox="0 0 ' + W + ' ' + H + '" data-max="' + max + '">' +
    '<polyline class="replicas" data-series="replicas" fill="none" stroke-width="2" points="' + points(recent, now, 'replicas', max, true) + '"/>' +
    '<polyline class="metric" data-series="metric" fill="none" stroke-width="1.5" points="' + points(recent, now, 'metric', max, false) + '"/>' +
    '<text x="4" y="12" font-size="10" fill="#888">' + max + '</text></svg>' +
    '<div class="legend"><span style="color:#1f77b4">━ replicas</span> &nbsp; <span style="color:#ff7f0e">━ ' +
    (o.route !== null ? 'concurrency (in flight + held)' : 'metric (first trigger)') + '</span> &nbsp; last 5 minutes</div>';
}

function render(data) {
  const html = data.objects.map((o) => {
    const triggers = o.triggers.map((t) =>
      '<li>' + esc(t.name) + ' (' + esc(t.type) + '): ' +
      (t.error !== null ? '<span class="error">' + esc(t.error) + '</span>' : fmt(t.value) + ' / target ' + fmt(t.target)) + '</li>').join('');
    const procs = o.processes.map((p) => esc(p.name) + ' ' + esc(p.phase) + (p.port ? ' :' + p.port : '') + (p.restarts ? ' (' + p.restarts + ' restarts)' : '')).join(', ');
    return '<section class="object" data-key="' + esc(o.key) + '">' +
      '<h2>' + esc(o.key) + ' → ' + esc(o.target) + (o.route ? ' <small>(route ' + esc(o.route) + ')</small>' : '') + '</h2>' +
      '<div class="numbers">' +
      '<span>replicas <b data-field="replicas">' + o.replicas + '</b></span>' +
      '<span>ready <b data-field="ready">' + o.ready + '</b></span>' +
      '<span>in flight <b data-field="inFlight">' + o.inFlight + '</b></span>' +
      '<span>held <b data-field="held">' + o.held + '</b></span>' +
      '<span>' + (o.active ? 'active' : 'idle') + '</span></div>' +
      (o.problem ? '<div class="problem">' + esc(o.problem) + '</div>' : '') +
      (triggers ? '<ul>' + triggers + '</ul>' : '<ul><li>not polled yet</li></ul>') +
      '<div class="legend">processes: ' + (procs || 'none') + '</div>' +
      chart(o, data.now) + '</section>';
  }).join('');
  document.getElementById('objects').innerHTML = html || '<p>no ScaledObjects</p>';
  document.getElementById('updated').textContent = 'updated ' + new Date(data.now).toLocaleTimeString();
}

async function refresh() {
  try {
    const res = await fetch('/api/status', { cache: 'no-store' });
    render(await res.json());
  } catch (err) {
    document.getElementById('updated').textContent = 'ebb is not answering: ' + err;
  }
}
refresh();
setInterval(refresh, 1000);
</script>
</body>
</html>
`;
