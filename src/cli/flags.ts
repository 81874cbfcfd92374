// Commander argument parsers shared by the commands: a bad flag value is a clear error naming
// what was expected (commander prints it with the flag and exits non-zero), never a default.
import { InvalidArgumentError } from 'commander';

export const portNumber = (value: string): number => {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65_535) throw new InvalidArgumentError('must be a port number 0-65535');
  return n;
};

export const positiveInt = (value: string): number => {
  if (!/^[1-9]\d*$/.test(value)) throw new InvalidArgumentError('must be a whole number >= 1');
  return Number(value);
};

/** Seconds on the command line, milliseconds in the program. */
export const seconds = (value: string): number => {
  if (!/^\d+(\.\d+)?$/.test(value) || Number(value) <= 0)
    throw new InvalidArgumentError('must be seconds > 0');
  return Number(value) * 1000;
};

/** Seconds on the command line (0 allowed: "none" or "no limit"), milliseconds in the program. */
export const secondsOrZero = (value: string): number => {
  if (!/^\d+(\.\d+)?$/.test(value)) throw new InvalidArgumentError('must be seconds >= 0');
  return Number(value) * 1000;
};
