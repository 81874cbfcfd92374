// `ebb local FILE [flags]`: the command around runLocal (src/cli/local.ts): its flags, the
// signals that stop it, and the guards that leave no replica behind.
import { isIP } from 'node:net';
import { type Command, InvalidArgumentError } from 'commander';
import { DEFAULT_TLS_MIN_VERSION, parseTlsSettings } from '../activator/tls.ts';
import { realClock, type Timer } from '../clock.ts';
import { configuredLevel, createLogger, logDestination } from '../logging.ts';
import { selfSignedServingCert } from '../metrics/serving-cert.ts';
import type { OtlpTracer } from '../observability/otlp-tracer.ts';
import { describeManifestReadError, MANIFEST_LIMITS } from './documents.ts';
import {
  collect,
  EbbCommand,
  parseFlags,
  portNumber,
  TRUSTED_PROXIES_HELP,
  trustedProxies,
} from './flags.ts';
import type { CliIO } from './io.ts';
import { DEFAULT_LOCAL_PORT, DEFAULT_UI_PORT, type LocalTls, runLocal } from './local.ts';
import { OTLP_ENDPOINT_HELP, otlpEndpoint, startTracing } from './tracing-flags.ts';

interface LocalFlags {
  port: number;
  uiPort: number;
  uiAllowedHost: string[];
  appLogs?: boolean;
  trustedProxies: string[];
  tlsPort?: number;
  tlsCert: string[];
  tlsKey: string[];
  tlsMinVersion: string;
  tlsCiphers?: string;
  otlpEndpoint?: string;
}

/** `--ui-allowed-host`: a name or an IP address as a Host header carries it, without the port. */
const allowedHost = (value: string, previous: string[]): string[] => {
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/i.test(value) && isIP(value.replace(/^\[(.*)\]$/, '$1')) === 0)
    throw new InvalidArgumentError('must be a host name or an IP address, without a port');
  return [...previous, value];
};

/** `ebb local`'s flags. */
export const localFlagsCommand = (io: CliIO): Command =>
  new EbbCommand('ebb local')
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
    .option(
      '--tls-port <n>',
      'also serve HTTPS on 127.0.0.1 on this port; without --tls-cert with a self-signed certificate for localhost',
      portNumber,
    )
    .option(
      '--tls-cert <file>',
      'PEM certificate (chain) for --tls-port, paired with the --tls-key at the same position; repeatable (chosen by SNI; the first is the default)',
      collect,
      [],
    )
    .option('--tls-key <file>', 'PEM private key of the --tls-cert at the same position', collect, [])
    .option(
      '--tls-min-version <v>',
      'lowest TLS version accepted: TLSv1.2 or TLSv1.3',
      DEFAULT_TLS_MIN_VERSION,
    )
    .option('--tls-ciphers <list>', "OpenSSL cipher list for TLS 1.2 (default: node's)")
    .option('--otlp-endpoint <url>', OTLP_ENDPOINT_HELP, otlpEndpoint)
    .configureOutput({ writeOut: (t) => io.stdout.write(t), writeErr: (t) => io.stderr.write(t) })
    .exitOverride();

/** The TLS flags read into certificates (files at start; a dev certificate without any), or why not. */
const localTls = async (flags: LocalFlags, io: CliIO): Promise<LocalTls | undefined | string> => {
  if (flags.tlsPort === undefined)
    return flags.tlsCert.length + flags.tlsKey.length === 0
      ? undefined
      : '--tls-cert and --tls-key need --tls-port';
  if (flags.tlsCert.length !== flags.tlsKey.length)
    return `--tls-cert (${flags.tlsCert.length}) and --tls-key (${flags.tlsKey.length}) come in pairs`;
  const settings = parseTlsSettings(flags.tlsMinVersion, flags.tlsCiphers);
  if (typeof settings === 'string') return settings;
  if (flags.tlsCert.length === 0) {
    const dev = await selfSignedServingCert();
    return { port: flags.tlsPort, settings, certificates: [{ source: 'self-signed (localhost)', ...dev }] };
  }
  const certificates = [];
  for (const [i, certFile] of flags.tlsCert.entries()) {
    const keyFile = flags.tlsKey[i] ?? '';
    try {
      const [cert, key] = await Promise.all([io.readText(certFile, 1 << 20), io.readText(keyFile, 1 << 20)]);
      certificates.push({ source: certFile, cert, key });
    } catch (err) {
      return `cannot read ${certFile} or ${keyFile}: ${describeManifestReadError(err)}`;
    }
  }
  return { port: flags.tlsPort, settings, certificates };
};

/** Each stops ebb gracefully (SIGHUP: the terminal closed). */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** `ebb local FILE [flags]`: runs until SIGINT, SIGTERM or SIGHUP; resolves to the exit code. */
export const localCommand = async (argv: readonly string[], io: CliIO): Promise<number> => {
  const command = localFlagsCommand(io);
  const flags = parseFlags<LocalFlags>(command, argv);
  if (typeof flags === 'number') return flags;
  const file = command.args[0] ?? '';
  let text: string;
  try {
    text = await io.readText(file, MANIFEST_LIMITS.fileBytes);
  } catch (err) {
    io.stderr.write(`ebb local: cannot read ${file}: ${describeManifestReadError(err)}\n`);
    return 1;
  }
  const tls = await localTls(flags, io);
  if (typeof tls === 'string') {
    io.stderr.write(`ebb local: ${tls}\n`);
    return 2;
  }
  let tracing: OtlpTracer | undefined;
  try {
    tracing = await startTracing(flags.otlpEndpoint, process.env, `local_${process.pid}`);
  } catch (err) {
    io.stderr.write(`ebb local: cannot start tracing: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  const started = await runLocal({
    ...(tls === undefined ? {} : { tls }),
    ...(tracing === undefined ? {} : { tracer: tracing.tracer }),
    file,
    text,
    port: flags.port,
    uiPort: flags.uiPort,
    trustedProxies: flags.trustedProxies,
    uiAllowedHosts: flags.uiAllowedHost,
    print: (line) => io.stdout.write(`${line}\n`),
    // Logs on stderr (stdout is the change lines); errors only unless --log-level says otherwise.
    log: createLogger({ level: configuredLevel() ?? 'error', destination: logDestination(2) }),
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
    await tracing?.shutdown();
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
  let orphanCheck: Timer | undefined;
  const signal = await new Promise<string>((resolve) => {
    const onSignal = (s: string) => {
      realClock.cancel(orphanCheck);
      for (const stop of STOP_SIGNALS) process.off(stop, onSignal);
      // A second signal while stopping kills everything now; one within a second is the same
      // Ctrl-C twice (the terminal sends it to npm and ebb, and npm passes it on to ebb).
      const first = realClock.now();
      const again = (s2: string) => {
        if (realClock.now() - first >= 1000) onFatal(new Error(`${s2} again: killing every replica`));
      };
      for (const stop of STOP_SIGNALS) process.on(stop, again);
      resolve(s);
    };
    for (const stop of STOP_SIGNALS) process.on(stop, onSignal);
    orphanCheck = realClock.every(500, () => {
      if (process.ppid !== parent) onSignal(`parent process ${parent} gone`);
    });
  });
  io.stdout.write(`ebb local: ${signal}, stopping every replica\n`);
  await running.stop();
  // The spans of the last held requests are exported before ebb exits.
  await tracing?.shutdown();
  process.off('exit', killAll);
  process.off('uncaughtException', onFatal);
  process.off('unhandledRejection', onFatal);
  return 0;
};
