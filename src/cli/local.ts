// `ebb local FILE`: embedded mode (what `npm start` runs). The same controller, scaling core,
// scalers and activator as on a cluster; the targets are LocalApps, whose replicas are
// processes on 127.0.0.1 run by src/platform/local's supervisor. Wiring only:
//
//   FILE ──LocalApps──▶ Supervisor ◀──scale── Controller ◀── LocalScaledObjectStore (FILE's objects)
//                          │ ready replicas                     ▲ status, Events as lines
//                          ▼                                    │ poke, http counters
//   curl ──▶ activator (--port) ── held / forwarded ────────────┘
//   browser ──▶ status page (--ui-port): StatusBoard, sampled each second
//
// Output (stdout): the URLs, then one line per change: a route's replicas, in flight and held;
// a replica started, ready, crashed (with its restart backoff) or stopped; an Event (a trigger
// whose server is unreachable is a Warning line and "unavailable" on the status page, not fatal).
// Logs (JSON, level $EBB_LOG_LEVEL or error: the Event lines already carry the warnings) go to
// stderr. Stopping (SIGINT, SIGTERM, SIGHUP, or the parent process going away, as when npm is
// killed) drains the activator first (requests in flight finish, up to 30 s; a second signal
// stops at once), then stops every replica's process group; the Reaper
// (src/platform/local/reaper.ts) stops them even when ebb itself is SIGKILLed.
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { z } from 'zod';
import { createScalerDeps } from '../../scalers/index.ts';
import { type CertificatePem, CertificateStore, type TlsSettings } from '../activator/certificates.ts';
import { type Activator, createActivator } from '../activator/server.ts';
import type { HoldTracer } from '../activator/tracing.ts';
import { formatProblem } from '../api/reasons.ts';
import { realClock, type Timer } from '../clock.ts';
import { ActivationFeed } from '../controller/activation-feed.ts';
import { admitScaledObject } from '../controller/admission.ts';
import { Controller } from '../controller/controller.ts';
import { HttpRouteIndex } from '../controller/http-routes.ts';
import { type Component, Components } from '../lifecycle/components.ts';
import { createLogger, type Logger } from '../logging.ts';
import { eventLine, PrintedEventRecorder } from '../platform/local/events.ts';
import { fileProblemLine, type LocalFile, parseLocalFile } from '../platform/local/file.ts';
import { startReaper } from '../platform/local/reaper.ts';
import { LocalEndpointSource, LocalScaleTarget, localServicePort } from '../platform/local/scale-target.ts';
import { StatusBoard } from '../platform/local/status-board.ts';
import { createStatusServer } from '../platform/local/status-page.ts';
import { LocalScaledObjectStore } from '../platform/local/store.ts';
import {
  LOCALHOST,
  Supervisor,
  type SupervisorEvent,
  type SupervisorOptions,
} from '../platform/local/supervisor.ts';
import { scaledObjectKeyOfRoute } from '../routing/routes.ts';
import { activatorComponents, feedSink, servedActivator } from './activator-process.ts';
import { describeError } from './io.ts';

export const DEFAULT_LOCAL_PORT = 8080;
export const DEFAULT_UI_PORT = 8090;

export interface RunLocalOptions {
  /** The file's name (relative `cwd`s resolve against its folder) and its text. */
  readonly file: string;
  readonly text: string;
  /** The activator's port on 127.0.0.1; 0 picks a free one. Default 8080. */
  readonly port?: number;
  /** The status page's port on 127.0.0.1; 0 picks a free one. Default 8090. */
  readonly uiPort?: number;
  /** Host names the status page answers besides localhost, 127.0.0.1 and [::1] (a tunnel's). */
  readonly uiAllowedHosts?: readonly string[];
  /** Where the change lines go. */
  readonly print: (line: string) => void;
  readonly log?: Logger;
  readonly supervisor?: Omit<SupervisorOptions, 'onEvent' | 'guard'>;
  /** How often route lines are checked for a change; default 200 ms. */
  readonly linePeriodMs?: number;
  /** CIDRs of the proxies in front whose X-Forwarded-Proto/-Host and Forwarded are believed. */
  readonly trustedProxies?: readonly string[];
  /** Also serve HTTPS on 127.0.0.1:`port` with these certificates (the first is the default). */
  readonly tls?: LocalTls;
  /** One span per held request (src/activator/tracing.ts); default none: tracing off. */
  readonly tracer?: HoldTracer;
}

export interface LocalTls {
  /** 0 picks a free one. */
  readonly port: number;
  readonly settings: TlsSettings;
  /** By source (the certificate file's name), in priority order. */
  readonly certificates: readonly (CertificatePem & { readonly source: string })[];
}

export interface RunningLocal {
  /** `http://127.0.0.1:<port>/`: curl this. */
  readonly url: string;
  /** `https://127.0.0.1:<tls-port>/` with `tls`. */
  readonly tlsUrl: string | undefined;
  /** `http://127.0.0.1:<ui-port>/`: the status page. */
  readonly uiUrl: string;
  readonly supervisor: Supervisor;
  readonly board: StatusBoard;
  readonly activator: Activator;
  readonly controller: Controller;
  /** Graceful: drains the activator (in-flight requests finish), stops the status page, polling,
   * then every replica (SIGTERM → SIGKILL). */
  stop(): Promise<void>;
}

export type StartResult = { ok: true; value: RunningLocal } | { ok: false; lines: string[] };

const clock = (): string => new Date(realClock.wallNow()).toISOString().slice(11, 23);

export const supervisorLine = (e: SupervisorEvent): string => {
  switch (e.type) {
    case 'started':
      return `replica ${e.replica} started (pid ${e.pid}, port ${e.port})`;
    case 'ready':
      return `replica ${e.replica} ready after ${(e.afterMs / 1000).toFixed(2)} s`;
    case 'crashed': {
      const tail = e.stderrTail.filter((l) => l.trim() !== '').at(-1);
      return `replica ${e.replica} crashed (${e.why}); restart #${e.restarts} in ${(e.backoffMs / 1000).toFixed(1)} s${
        tail === undefined ? '' : `; stderr: ${tail}`
      }`;
    }
    case 'stopped':
      return `replica ${e.replica} stopped${e.killed ? ' (SIGKILL after the grace period)' : ''}`;
  }
};

/** Checks the file (structure, then admission of every ScaledObject): every problem, one per line. */
export const checkLocalFile = (
  file: string,
  text: string,
): { ok: true; value: LocalFile } | { ok: false; lines: string[] } => {
  const parsed = parseLocalFile(file, text);
  if (!parsed.ok) return { ok: false, lines: parsed.problems.map((p) => fileProblemLine(file, p)) };
  const lines: string[] = [];
  for (const { doc, raw } of parsed.value.scaledObjects) {
    for (const p of admitScaledObject(raw).problems) lines.push(`${file}:${doc}: ${formatProblem(p)}`);
  }
  return lines.length > 0 ? { ok: false, lines } : parsed;
};

const listen = (server: Server, port: number): Promise<number> =>
  new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, LOCALHOST, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });

const closeServer = (server: Server): Promise<void> =>
  new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });

export const runLocal = async (opts: RunLocalOptions): Promise<StartResult> => {
  const checked = checkLocalFile(opts.file, opts.text);
  if (!checked.ok) return checked;
  const { apps, scaledObjects } = checked.value;
  // Before any process starts: a refused certificate stops ebb local at once.
  const certificates = localCertificates(opts.tls);
  if (certificates !== undefined && !(certificates instanceof CertificateStore))
    return { ok: false, lines: certificates };
  const print = (line: string) => opts.print(`${clock()} ${line}`);
  const log =
    opts.log ??
    createLogger({ level: process.env.EBB_LOG_LEVEL ?? 'error', destination: pino.destination(2) });

  const reaper = startReaper(Math.max(0, ...apps.map((a) => a.gracePeriodMs)));
  const supervisor = new Supervisor(apps, {
    ...opts.supervisor,
    onEvent: (e) => print(supervisorLine(e)),
    guard: reaper,
  });
  const store = new LocalScaledObjectStore(scaledObjects.map((o) => o.raw));
  const events = new PrintedEventRecorder((e) => print(eventLine(e)));
  const endpoints = new LocalEndpointSource(supervisor);

  const index = new HttpRouteIndex();
  for (const key of store.keys()) index.update(key, store.get(key));
  const routes = index.build(localServicePort);
  for (const u of routes.unresolved)
    print(`route ${u.route} left out: ${u.message}; give the http trigger's port as a number`);
  const routeOf = new Map<string, string>();
  for (const r of routes.routes)
    if (!routeOf.has(scaledObjectKeyOfRoute(r.key))) routeOf.set(scaledObjectKeyOfRoute(r.key), r.key);

  const feed = new ActivationFeed();
  feed.setAliases(routes.aliases);
  let controller: Controller | undefined;
  const sink = feedSink(feed, () => controller);
  const activator = createActivator({
    endpoints,
    routes: routes.routes,
    id: `local_${randomUUID().slice(0, 8)}`,
    onStats: (stats) => sink.stats(stats),
    statsIntervalMs: 1000,
    ...(opts.trustedProxies === undefined ? {} : { trustedProxies: opts.trustedProxies }),
    ...(certificates === undefined ? {} : { tls: { certificates } }),
    ...(opts.tracer === undefined ? {} : { tracer: opts.tracer }),
    poke: (route, held) => sink.poke(route, held, activator.stats()),
  });
  for (const c of activator.setRoutes(routes.routes)) print(`route ${c.dropped}: ${c.message}`);

  const board = new StatusBoard({
    objects: scaledObjects.map(({ raw }) => {
      // Admitted above: the namespace is filled in and the target named.
      const { metadata, spec } = BoardObjectSchema.parse(raw);
      return {
        key: `${metadata.namespace}/${metadata.name}`,
        namespace: metadata.namespace,
        target: `${metadata.namespace}/${spec.scaleTargetRef.name}`,
      };
    }),
    supervisor,
    stats: () => activator.stats(),
    routeOf: (key) => routeOf.get(key),
    status: (key) => store.status(key),
  });
  controller = new Controller({
    source: store,
    scaleTarget: new LocalScaleTarget(supervisor),
    status: store,
    finalizers: store,
    events,
    log,
    observer: board,
    scalerDeps: createScalerDeps({ concurrencyFeed: feed }),
  });
  const running = controller;
  const served = servedActivator();
  // No load balancer here, so no drain delay; held requests get 503 (src/activator/drain.ts).
  served.graceful = true;
  let uiPort = 0;
  const ui = createStatusServer(
    () => ({ ...board.snapshot(), file: opts.file, url: served.port === 0 ? undefined : activatorUrl() }),
    { allowedHosts: opts.uiAllowedHosts ?? [] },
  );
  const activatorUrl = () => `http://${LOCALHOST}:${served.port}/`;
  const uiUrl = () => `http://${LOCALHOST}:${uiPort}/`;
  const serving = activatorComponents({
    create: () => activator,
    port: opts.port ?? DEFAULT_LOCAL_PORT,
    tlsPort: opts.tls?.port,
    address: LOCALHOST,
    served,
  });

  // One line per change: a route's replicas, in flight and held; a target's replicas.
  const lastLine = new Map<string, string>();
  const printChanges = () => {
    for (const o of board.snapshot().objects) {
      const replicas = `replicas ${o.replicas} (${o.ready} ready)`;
      const line =
        o.route !== null
          ? `route ${o.route}: ${replicas}, in flight ${o.inFlight}, held ${o.held}`
          : `target ${o.target}: ${replicas}`;
      if (lastLine.get(o.key) === line) continue;
      lastLine.set(o.key, line);
      print(line);
    }
  };
  let lines: Timer | undefined;

  // In start order; stopped in reverse: the lines and the board, then the activator drains
  // (requests forwarded to a replica finish while the controller still scales), polling stops,
  // the status page closes, and last every replica (SIGTERM → SIGKILL) and the reaper.
  const components = new Components(
    [
      { name: 'reaper', start: () => undefined, stop: () => reaper.close() },
      { name: 'supervisor', start: () => undefined, stop: () => supervisor.stop() },
      {
        name: 'concurrency feed',
        start: () => feed.record(activator.stats()),
        stop: () => feed.forget(activator.stats().activator),
      },
      listening(serving.serving),
      listening({
        name: 'status page',
        start: async () => {
          uiPort = await listen(ui, opts.uiPort ?? DEFAULT_UI_PORT);
        },
        stop: () => (ui.listening ? closeServer(ui) : undefined),
      }),
      {
        name: 'banner',
        start: () => {
          opts.print(`ebb local: ${opts.file} (pid ${process.pid})`);
          opts.print(
            `  URL:          ${activatorUrl()}   (curl it: a request to a scaled-to-zero app starts it)`,
          );
          if (served.tlsUrl !== undefined) opts.print(`  HTTPS:        ${served.tlsUrl}/`);
          opts.print(`  status page:  ${uiUrl()}`);
          opts.print('  Ctrl-C stops ebb and every replica.');
        },
        stop: () => undefined,
      },
      { name: 'controller', start: () => running.start(), stop: () => running.stop() },
      serving.drain,
      { name: 'status board', start: () => board.start(), stop: () => board.stop() },
      {
        name: 'change lines',
        start: () => {
          printChanges();
          lines = realClock.every(opts.linePeriodMs ?? 200, printChanges);
        },
        stop: () => realClock.cancel(lines),
      },
    ],
    { log },
  );
  try {
    await components.start();
  } catch (err) {
    if (!(err instanceof ListenError)) throw err;
    return {
      ok: false,
      lines: [`cannot listen: ${describeError(err.cause)} (choose other ports with --port and --ui-port)`],
    };
  }
  return {
    ok: true,
    value: {
      url: activatorUrl(),
      tlsUrl: served.tlsUrl === undefined ? undefined : `${served.tlsUrl}/`,
      uiUrl: uiUrl(),
      supervisor,
      board,
      activator,
      controller: running,
      stop: () => components.stop(),
    },
  };
};

/** The certificates of `tls` checked into a store, or a line per refused one (ebb local stops). */
const localCertificates = (tls: LocalTls | undefined): CertificateStore | string[] | undefined => {
  if (tls === undefined) return undefined;
  const store = new CertificateStore(tls.settings);
  const refused: string[] = [];
  for (const c of tls.certificates) {
    const problem = store.set(c.source, c);
    if (problem !== undefined) refused.push(`cannot serve TLS: ${problem.message} (${problem.reason})`);
  }
  return refused.length > 0 ? refused : store;
};

/** A port that cannot be listened on: said as such, with the flags that choose others. */
class ListenError extends Error {}

/** `component` whose failed start is a ListenError. */
const listening = (component: Component): Component => ({
  ...component,
  start: async (signal) => {
    try {
      await component.start(signal);
    } catch (err) {
      throw new ListenError('cannot listen', { cause: err });
    }
  },
});

/** What the status board needs of an admitted ScaledObject. */
const BoardObjectSchema = z.object({
  metadata: z.object({ namespace: z.string(), name: z.string() }),
  spec: z.object({ scaleTargetRef: z.object({ name: z.string() }) }),
});
