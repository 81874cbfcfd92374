// The one logger module: pino, JSON lines on stdout. Every ScaledObject gets a child logger
// carrying `namespace` and `name` (and `trigger` below that), so a log line can be grepped
// back to its object. Anything that may come from a Secret is redacted by path.
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

export interface LoggerOptions {
  /** pino level; default `EBB_LOG_LEVEL` or `info`. */
  readonly level?: string;
  /** Where lines go; default stdout. Tests pass a stream to read them back. */
  readonly destination?: DestinationStream;
}

export const createLogger = (opts: LoggerOptions = {}): Logger => {
  const options = {
    level: opts.level ?? process.env.EBB_LOG_LEVEL ?? 'info',
    base: { app: 'ebb' },
    redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
  };
  return opts.destination === undefined ? pino(options) : pino(options, opts.destination);
};

/** The process-wide logger; commands may replace its level with `--log-level`-style flags. */
export const logger: Logger = createLogger();

/** A silent logger for tests and library use. */
export const silentLogger: Logger = pino({ level: 'silent' });

export const scaledObjectLogger = (parent: Logger, namespace: string, name: string): Logger =>
  parent.child({ namespace, name });

export const triggerLogger = (parent: Logger, trigger: string): Logger => parent.child({ trigger });
