// The one logger module: pino, JSON lines on stdout. Every ScaledObject gets a child logger
// carrying `namespace` and `name` (and `trigger` below that), so a log line can be grepped
// back to its object. Anything that may come from a Secret is redacted by path.
// The CLI's `--log-level` / `--log-format` (or EBB_LOG_LEVEL / EBB_LOG_FORMAT) reach it through
// configureLogging: JSON lines when stdout is not a terminal, one human line each when it is.
import { type DestinationStream, type Logger, pino } from 'pino';

export type { Logger } from 'pino';

/**
 * Paths never written as they are: trigger auth parameters (resolved from Secrets and
 * TriggerAuthentications), credentials in connection settings, and HTTP auth headers.
 */
export const REDACT_PATHS: readonly string[] = [
  'authParams',
  '*.authParams',
  'password',
  '*.password',
  'token',
  '*.token',
  'sasl',
  '*.sasl',
  'headers.authorization',
  '*.headers.authorization',
  'metadata.password',
  'trigger.metadata.password',
  'kubeconfig.users',
];

/** pino's levels, the values of `--log-level` / EBB_LOG_LEVEL. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
/** `--log-format` / EBB_LOG_FORMAT; unset: text on a terminal, JSON otherwise. */
export const LOG_FORMATS = ['json', 'text'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface LoggingSettings {
  readonly level?: LogLevel | undefined;
  readonly format?: LogFormat | undefined;
}

let settings: LoggingSettings = {};

const isLevel = (value: string | undefined): value is LogLevel =>
  (LOG_LEVELS as readonly (string | undefined)[]).includes(value);

/** The level set by the CLI, else a valid EBB_LOG_LEVEL (the CLI refuses an invalid one). */
export const configuredLevel = (): LogLevel | undefined =>
  settings.level ?? (isLevel(process.env.EBB_LOG_LEVEL) ? process.env.EBB_LOG_LEVEL : undefined);

/** `12:00:01.100`: local wall-clock time of a line. */
const clockTime = (epochMs: number): string => {
  const t = new Date(epochMs);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(t.getHours())}:${two(t.getMinutes())}:${two(t.getSeconds())}.${String(t.getMilliseconds()).padStart(3, '0')}`;
};

const LEVEL_NAMES: Readonly<Record<number, string>> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO ',
  40: 'WARN ',
  50: 'ERROR',
  60: 'FATAL',
};

/** `key=value`; a string with a space, quote or `=` is quoted, anything else is JSON. */
const field = (key: string, value: unknown): string =>
  typeof value === 'string' && !/[\s"=]/.test(value) && value !== ''
    ? `${key}=${value}`
    : `${key}=${JSON.stringify(value)}`;

/**
 * One pino JSON line → `12:00:01.100 INFO  default/orders [kafka] message key=value …\n`
 * (namespace/name and trigger first, as a reader looks for them; app, pid, hostname dropped;
 * an error as its message, its stack on the lines below). A line that is not JSON is kept.
 */
export const formatLogLine = (line: string): string => {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const {
    time,
    level,
    msg,
    app: _app,
    pid: _pid,
    hostname: _host,
    namespace,
    name,
    trigger,
    err,
    ...rest
  } = record;
  const parts = [
    typeof time === 'number' ? clockTime(time) : '',
    LEVEL_NAMES[typeof level === 'number' ? level : 0] ?? String(level),
  ];
  if (namespace !== undefined || name !== undefined)
    parts.push(`${String(namespace ?? '')}/${String(name ?? '')}`);
  if (trigger !== undefined) parts.push(`[${String(trigger)}]`);
  if (msg !== undefined) parts.push(String(msg));
  for (const [key, value] of Object.entries(rest)) parts.push(field(key, value));
  const stack = err !== null && typeof err === 'object' && 'stack' in err ? String(err.stack) : undefined;
  if (err !== undefined && stack === undefined) parts.push(field('err', err));
  return `${parts.filter((p) => p !== '').join(' ')}\n${stack === undefined ? '' : `  ${stack.replaceAll('\n', '\n  ')}\n`}`;
};

/** Where the process logger writes: fd 1 as JSON (sonic-boom, pino's own) or as text lines. */
const textOn = (fd: 1 | 2): DestinationStream => ({
  write: (line: string) => (fd === 1 ? process.stdout : process.stderr).write(formatLogLine(line)),
});
const jsonOut = pino.destination({ dest: 1, sync: true });
let processOut: DestinationStream = jsonOut;
const processDestination: Readonly<DestinationStream> = { write: (line: string) => processOut.write(line) };

/** The destination for logs on `fd` in the format configured (text on a terminal by default). */
export const logDestination = (fd: 1 | 2): DestinationStream => {
  const terminal = (fd === 1 ? process.stdout : process.stderr).isTTY === true;
  const format = settings.format ?? (terminal ? 'text' : 'json');
  if (format === 'text') return textOn(fd);
  return fd === 1 ? jsonOut : pino.destination({ dest: 2, sync: true });
};

export interface LoggerOptions {
  /** pino level; default: configureLogging's, a valid `EBB_LOG_LEVEL`, or `info`. */
  readonly level?: string;
  /** Where lines go; default stdout (JSON, or text: see configureLogging). Tests pass a stream. */
  readonly destination?: DestinationStream;
}

export const createLogger = (opts: LoggerOptions = {}): Logger =>
  pino(
    {
      level: opts.level ?? configuredLevel() ?? 'info',
      base: { app: 'ebb' },
      redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
    },
    opts.destination ?? processDestination,
  );

/** The process-wide logger; the CLI sets its level and format with configureLogging. */
export const logger: Logger = createLogger();

/** `--log-level` and `--log-format` (or their EBB_* variables), before a command starts. */
export const configureLogging = (next: LoggingSettings): void => {
  settings = next;
  logger.level = configuredLevel() ?? 'info';
  processOut = logDestination(1);
};

/** A silent logger for tests and library use. */
export const silentLogger: Logger = pino({ level: 'silent' });

export const scaledObjectLogger = (parent: Logger, namespace: string, name: string): Logger =>
  parent.child({ namespace, name });

export const triggerLogger = (parent: Logger, trigger: string): Logger => parent.child({ trigger });
