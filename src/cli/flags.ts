// Commander argument parsers shared by the commands: a bad flag value is a clear error naming
// what was expected (commander prints it with the flag and exits non-zero), never a default.
import { InvalidArgumentError } from 'commander';
import { parseTrustedProxies } from '../activator/forwarded.ts';

export const portNumber = (value: string): number => {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65_535) throw new InvalidArgumentError('must be a port number 0-65535');
  return n;
};

export const positiveInt = (value: string): number => {
  if (!/^[1-9]\d*$/.test(value)) throw new InvalidArgumentError('must be a whole number >= 1');
  return Number(value);
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

/** A repeatable flag: every value, in order (`--x a --x b` → [a, b]). */
export const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** Seconds on the command line (0 allowed: "none" or "no limit"), milliseconds in the program. */
export const secondsOrZero = (value: string): number => {
  if (!/^\d+(\.\d+)?$/.test(value)) throw new InvalidArgumentError('must be seconds >= 0');
  return Number(value) * 1000;
};
