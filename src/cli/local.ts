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
import { type AddressInfo, isIP } from 'node:net';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { pino } from 'pino';
import { z } from 'zod';
import { bindConcurrencyFeed } from '../../scalers/http/feed.ts';
import { type Activator, createActivator } from '../activator/server.ts';
import { formatProblem } from '../api/reasons.ts';
import { ActivationFeed } from '../controller/activation-feed.ts';
import { admitScaledObject } from '../controller/admission.ts';
import { Controller } from '../controller/controller.ts';
import { HttpRouteIndex, scaledObjectKeyOfRoute } from '../controller/http-routes.ts';
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
import { activatorComponents, feedSink, servedActivator } from './activator-process.ts';
import { portNumber, TRUSTED_PROXIES_HELP, trustedProxies } from './flags.ts';
import { type CliIO, describeError } from './io.ts';

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
}

export interface RunningLocal {
  /** `http://127.0.0.1:<port>/`: curl this. */
  readonly url: string;
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

const clock = (): string => new Date().toISOString().slice(11, 23);

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
  let lines: NodeJS.Timeout | undefined;
  let unbindFeed = () => {};

  // In start order; stopped in reverse: the lines and the board, then the activator drains
  // (requests forwarded to a replica finish while the controller still scales), polling stops,
  // the status page closes, and last every replica (SIGTERM → SIGKILL) and the reaper.
  const components = new Components(
    [
      { name: 'reaper', start: () => undefined, stop: () => reaper.close() },
      { name: 'supervisor', start: () => undefined, stop: () => supervisor.stop() },
      {
        name: 'concurrency feed',
        start: () => {
          feed.record(activator.stats());
          const unbind = bindConcurrencyFeed(feed);
          unbindFeed = () => {
            feed.forget(activator.stats().activator);
            unbind();
          };
        },
        stop: () => unbindFeed(),
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
          lines = setInterval(printChanges, opts.linePeriodMs ?? 200);
        },
        stop: () => clearInterval(lines),
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
      uiUrl: uiUrl(),
      supervisor,
      board,
      activator,
      controller: running,
      stop: () => components.stop(),
    },
  };
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

// ---- the command ----

interface LocalFlags {
  port: number;
  uiPort: number;
  uiAllowedHost: string[];
  appLogs?: boolean;
  trustedProxies: string[];
}

/** `--ui-allowed-host`: a name or an IP address as a Host header carries it, without the port. */
const allowedHost = (value: string, previous: string[]): string[] => {
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/i.test(value) && isIP(value.replace(/^\[(.*)\]$/, '$1')) === 0)
    throw new InvalidArgumentError('must be a host name or an IP address, without a port');
  return [...previous, value];
};

const buildCommand = (io: CliIO): Command =>
  new Command('ebb local')
    .description(
      'embedded mode: run the LocalApps and ScaledObjects of FILE on this machine (replicas are local processes; no cluster)',
    )
    .argument('<file>', 'YAML with LocalApp and ScaledObject documents (see examples/local/ebb.yaml)')
    .option(
      '--port <n>',
      'port of the activator on 127.0.0.1 (the URL to curl)',
      portNumber,
      DEFAULT_LOCAL_PORT,
    )
    .option('--ui-port <n>', 'port of the status page on 127.0.0.1', portNumber, DEFAULT_UI_PORT)
    .option(
      '--ui-allowed-host <name>',
      'a Host name the status page also answers (repeatable; e.g. a tunnel or port-forward name); others get 421',
      allowedHost,
      [],
    )
    .option('--app-logs', "print the replicas' stdout and stderr lines, prefixed with the replica")
    .option('--trusted-proxies <cidrs>', TRUSTED_PROXIES_HELP, trustedProxies, [])
    .configureOutput({ writeOut: (t) => io.stdout.write(t), writeErr: (t) => io.stderr.write(t) })
    .exitOverride();

/** Each stops ebb gracefully (SIGHUP: the terminal closed). */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** `ebb local FILE [flags]`: runs until SIGINT, SIGTERM or SIGHUP; resolves to the exit code. */
export const localCommand = async (argv: readonly string[], io: CliIO): Promise<number> => {
  const command = buildCommand(io);
  try {
    command.parse([...argv], { from: 'user' });
  } catch (err) {
    return err instanceof CommanderError ? err.exitCode : 2;
  }
  const flags = command.opts<LocalFlags>();
  const file = command.args[0] ?? '';
  let text: string;
  try {
    text = await io.readText(file);
  } catch (err) {
    io.stderr.write(`ebb local: cannot read ${file}: ${describeError(err)}\n`);
    return 1;
  }
  const started = await runLocal({
    file,
    text,
    port: flags.port,
    uiPort: flags.uiPort,
    trustedProxies: flags.trustedProxies,
    uiAllowedHosts: flags.uiAllowedHost,
    print: (line) => io.stdout.write(`${line}\n`),
    ...(flags.appLogs === true
      ? {
          supervisor: {
            onOutput: (replica, stream, line) => io.stderr.write(`${replica} ${stream}| ${line}\n`),
          },
        }
      : {}),
  });
  if (!started.ok) {
    for (const line of started.lines) io.stderr.write(`ebb local: ${line}\n`);
    return 1;
  }
  const running = started.value;
  // Nothing outlives ebb: an uncaught error or a plain exit SIGKILLs every replica's group.
  const killAll = () => running.supervisor.killAllNow();
  const onFatal = (err: unknown) => {
    io.stderr.write(`ebb local: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    killAll();
    process.exit(1);
  };
  process.on('exit', killAll);
  process.on('uncaughtException', onFatal);
  process.on('unhandledRejection', onFatal);

  // Under `npm start` ebb's parent is npm: if npm goes away without passing a signal on, ebb is
  // reparented, and stops as on SIGTERM.
  const parent = process.ppid;
  let orphanCheck: NodeJS.Timeout | undefined;
  const signal = await new Promise<string>((resolve) => {
    const onSignal = (s: string) => {
      clearInterval(orphanCheck);
      for (const stop of STOP_SIGNALS) process.off(stop, onSignal);
      // A second signal while stopping kills everything now; one within a second is the same
      // Ctrl-C twice (the terminal sends it to npm and ebb, and npm passes it on to ebb).
      const first = performance.now();
      const again = (s2: string) => {
        if (performance.now() - first >= 1000) onFatal(new Error(`${s2} again: killing every replica`));
      };
      for (const stop of STOP_SIGNALS) process.on(stop, again);
      resolve(s);
    };
    for (const stop of STOP_SIGNALS) process.on(stop, onSignal);
    orphanCheck = setInterval(() => {
      if (process.ppid !== parent) onSignal(`parent process ${parent} gone`);
    }, 500);
  });
  io.stdout.write(`ebb local: ${signal}, stopping every replica\n`);
  await running.stop();
  process.off('exit', killAll);
  process.off('uncaughtException', onFatal);
  process.off('unhandledRejection', onFatal);
  return 0;
};
