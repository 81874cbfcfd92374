// The `ebb` entry point: `node --import tsx src/main.ts <command>` (bin/ebb.js does the same).
import { processIO } from './cli/io.ts';
import { runCli } from './cli/program.ts';

// `ebb simulate ... | head`: the reader left; stop quietly instead of printing a stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

process.exitCode = await runCli(process.argv.slice(2), processIO());
