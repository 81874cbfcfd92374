// Commander argument parsers shared by the commands: a bad flag value is a clear error naming
// what was expected (commander prints it with the flag and exits non-zero), never a default.
// And EbbCommand, the Command every ebb command is built from: every flag is also read from an
// `EBB_*` environment variable (kubectl/Helm/KEDA convention: the flag wins over the variable).
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { parseTrustedProxies } from '../activator/forwarded.ts';
import { METRICS_DETAILS } from '../observability/metrics.ts';

export const portNumber = (value: string): number => {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65_535) throw new InvalidArgumentError('must be a port number 0-65535');
  return n;
};

export const positiveInt = (value: string): number => {
  if (!/^[1-9]\d*$/.test(value)) throw new InvalidArgumentError('must be a whole number >= 1');
  return Number(value);
};

/** `value` when it is an http(s) URL; `hint` follows the complaint. */
export const httpUrl = (value: string, hint = ''): string => {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {}
  if (url?.protocol !== 'http:' && url?.protocol !== 'https:')
    throw new InvalidArgumentError(`must be an http:// or https:// URL${hint}`);
  return value;
};

/** `--trusted-proxies 10.0.0.0/8,fd00::/8` (repeatable, lists joined); the error names the entry. */
export const trustedProxies = (value: string, previous: readonly string[] = []): string[] => {
  const parsed = parseTrustedProxies(value);
  if ('problem' in parsed)
    throw new InvalidArgumentError(`${parsed.problem}; give CIDRs or addresses, comma-separated`);
  return [...previous, ...parsed];
};

/** The help text of `--trusted-proxies`, the same for `ebb activator` and `ebb local`. */
export const TRUSTED_PROXIES_HELP =
  'CIDRs or addresses (comma-separated, repeatable) of the proxies in front, e.g. the ingress pods, whose ' +
  'X-Forwarded-Proto, X-Forwarded-Host and Forwarded headers are passed on; from anyone else they are ' +
  "replaced by the activator's own (default: trust nobody)";

/** Seconds on the command line, milliseconds in the program. */
export const seconds = (value: string): number => {
  if (!/^\d+(\.\d+)?$/.test(value) || Number(value) <= 0)
    throw new InvalidArgumentError('must be seconds > 0');
  return Number(value) * 1000;
};

/**
 * Seconds up to `maxMs` (0 allowed when `zero`), for an activator default an http trigger field
 * overrides per route: the flag and the field refuse the same values (src/routing/http-trigger.ts).
 */
export const secondsUpTo =
  (maxMs: number, zero: boolean) =>
  (value: string): number => {
    const ms = zero ? secondsOrZero(value) : seconds(value);
    if (ms > maxMs)
      throw new InvalidArgumentError(
        `must be at most ${maxMs / 1000} seconds (the largest value the http trigger field takes)`,
      );
    return ms;
  };

/** A repeatable flag: every value, in order (`--x a --x b` → [a, b]). */
/** `--metrics-detail` of `ebb run` and `ebb activator` (src/observability/object-series.ts). */
export const metricsDetailOption = (): Option =>
  new Option(
    '--metrics-detail <set>',
    "series per ScaledObject on /metrics: keda (KEDA's set: value, latency, active, paused, loop latency; error counters once an error happened) or extended (also each trigger's target, desired and current replicas, error counters from 0)",
  )
    .choices([...METRICS_DETAILS])
    .default('keda');

export const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** Seconds on the command line (0 allowed: "none" or "no limit"), milliseconds in the program. */
export const secondsOrZero = (value: string): number => {
  if (!/^\d+(\.\d+)?$/.test(value)) throw new InvalidArgumentError('must be seconds >= 0');
  return Number(value) * 1000;
};

/** `--poll-timeout` → `EBB_POLL_TIMEOUT`: the variable that sets a flag when it is not given. */
export const envVarOf = (option: Option): string =>
  `EBB_${option
    .attributeName()
    .replace(/[A-Z]/g, (c) => `_${c}`)
    .toUpperCase()}`;

/** Flags no variable sets: they print something and exit. */
const NO_ENV: ReadonlySet<string> = new Set(['help', 'version']);

/** Go's strconv.ParseBool, as Kubernetes and KEDA read a boolean variable. */
const TRUE_WORDS: ReadonlySet<string> = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE_WORDS: ReadonlySet<string> = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/**
 * A Command whose every option (and every subcommand's) gets `.env(EBB_…)`, which also lists
 * it in `--help` ("env: EBB_POLL_TIMEOUT"). Commander reads a variable only when the flag is
 * absent, through the flag's own parser, so a bad value gets the flag's error plus "from env
 * 'EBB_…'". Boolean flags: see checkBooleanEnv.
 */
export class EbbCommand extends Command {
  override createCommand(name?: string): EbbCommand {
    return new EbbCommand(name);
  }

  override addOption(option: Option): this {
    if (option.envVar === undefined && !NO_ENV.has(option.attributeName())) option.env(envVarOf(option));
    return super.addOption(option);
  }
}

/**
 * Commander sets a boolean flag from its variable whatever the value (`EBB_EXPLAIN=false` would
 * turn it on). After parsing, a boolean set from a variable is read as Go's ParseBool reads it;
 * anything else stops the command naming the variable. Throws CommanderError (exit code 2).
 */
export const checkBooleanEnv = (command: Command): void => {
  for (const option of command.options) {
    const key = option.attributeName();
    if (!option.isBoolean() || option.envVar === undefined || command.getOptionValueSource(key) !== 'env')
      continue;
    const value = process.env[option.envVar] ?? '';
    if (FALSE_WORDS.has(value)) command.setOptionValueWithSource(key, undefined, 'env');
    else if (!TRUE_WORDS.has(value))
      command.error(
        `error: option '${option.flags}' value '${value}' from env '${option.envVar}' is invalid. must be true or false (1, t, TRUE, 0, f, FALSE)`,
        { exitCode: 2, code: 'ebb.invalidEnvBoolean' },
      );
  }
};

/**
 * Parses a command's own flags (`ebb run`, `activator`, `local`: everything after the command
 * name); its options, or the exit code when it printed help or an error.
 */
export const parseFlags = <T extends object>(command: Command, argv: readonly string[]): T | number => {
  try {
    command.parse([...argv], { from: 'user' });
    checkBooleanEnv(command);
  } catch (err) {
    return err instanceof CommanderError ? err.exitCode : 2;
  }
  return command.opts<T>();
};
