// A CliIO whose stdout and stderr are captured, for running a command in process.
import { type CliIO, processIO } from '../../src/cli/io.ts';

export const capturedIO = (): { io: CliIO; stdout: () => string; stderr: () => string } => {
  let out = '';
  let err = '';
  const io: CliIO = {
    ...processIO(),
    stdout: { write: (text: string) => (out += text) },
    stderr: { write: (text: string) => (err += text) },
  };
  return { io, stdout: () => out, stderr: () => err };
};
