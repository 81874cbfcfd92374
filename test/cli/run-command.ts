// Runs a CLI command in-process with captured output (the commands take their io as an argument).
import type { CliIO } from '../../src/cli/io.ts';

export type Command = (argv: readonly string[], io: CliIO) => Promise<number>;

export const runCommand = async (command: Command, argv: string[]) => {
  let stdout = '';
  let stderr = '';
  const io: CliIO = {
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
    now: () => new Date(0),
    readText: async () => '',
  };
  const code = await command(argv, io);
  return { code, stdout, stderr };
};
