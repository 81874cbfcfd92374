// The `ebb` command line. Each command's module is imported when the command runs, so a
// command whose module is missing or broken cannot break the others (`ebb validate` never
// loads the Kubernetes client).
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { type CliIO, describeError } from './io.ts';

const wholeNumber = (value: string): number => {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('must be a whole number >= 0');
  return Number(value);
};

const isoTime = (value: string): Date => {
  const t = new Date(value);
  if (Number.isNaN(t.getTime()))
    throw new InvalidArgumentError('must be an ISO 8601 time such as 2024-06-03T08:00:00Z');
  return t;
};

/**
 * What `src/cli/run.ts` exports for `ebb run` (cluster mode) and `ebb start` (the same, as
 * `npm start` calls it): it parses its own flags from `argv` (everything after the command) and
 * resolves to the exit code.
 */
export interface RunModule {
  run(argv: readonly string[], command: 'run' | 'start', io: CliIO): Promise<number>;
}

export const buildProgram = (io: CliIO, setExitCode: (code: number) => void): Command => {
  const program = new Command('ebb')
    .description('Event-driven autoscaling for Kubernetes: KEDA-compatible ScaledObjects')
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    })
    .exitOverride()
    .showHelpAfterError('(run "ebb help" for the commands)');

  program
    .command('validate')
    .description(
      'check manifests offline as the cluster would (ScaledObjects, (Cluster)TriggerAuthentications); FILE:LINE:COL: path: message per problem',
    )
    .argument(
      '<path...>',
      'YAML files, each with one or more documents, or directories (their .yaml/.yml files, recursively); "-" reads standard input',
    )
    .option('--strict', 'warnings (unknown metadata keys, an authenticationRef not among the files) fail too')
    .addOption(
      new Option('--output <format>', 'text: one line per problem; json: one JSON document')
        .choices(['text', 'json'])
        .default('text'),
    )
    .action(async (paths: string[], options: { strict?: boolean; output: 'text' | 'json' }) => {
      const { runValidate } = await import('./validate.ts');
      setExitCode(
        await runValidate(paths, io, undefined, { strict: options.strict === true, output: options.output }),
      );
    });

  program
    .command('simulate')
    .description("replay a metrics trace through a ScaledObject's scaling; prints t,replicas,active per poll")
    .requiredOption('--scaledobject <file>', 'YAML file with one ScaledObject')
    .requiredOption(
      '--metrics <trace.csv>',
      'CSV trace: header "t,<trigger>,...", t in seconds from the start',
    )
    .option('--initial-replicas <n>', 'replicas before the first poll (default: the minimum)', wholeNumber)
    .addOption(
      new Option('--start <iso>', 'wall-clock time of t = 0, for cron triggers (default: now)').argParser(
        isoTime,
      ),
    )
    .option('--explain', 'add an explanation column: why each decision was made')
    .option(
      '--plot <file.svg>',
      'draw the metrics, their targets and the replicas as an SVG instead of the CSV',
    )
    .option(
      '--compare <other.yaml>',
      'with --plot: replay the same trace through a second ScaledObject, side by side',
    )
    .action(async (options: SimulateFlags) => {
      const { runSimulate } = await import('./simulate.ts');
      setExitCode(
        await runSimulate(
          {
            scaledObjectFile: options.scaledobject,
            traceFile: options.metrics,
            initialReplicas: options.initialReplicas,
            start: options.start ?? io.now(),
            explain: options.explain === true,
            plot: options.plot,
            compare: options.compare,
          },
          io,
        ),
      );
    });

  // ---- `ebb crds`: owned by src/cli/crds.ts (the CRD generator); wired here, nothing more. ----
  program
    .command('crds')
    .description('print the CRD YAML generated from src/api, or write it into a directory')
    .option('--out <dir>', 'directory to write the CRD file into (default: standard output)')
    .action(async (options: { out?: string }) => {
      const { runCrds } = await import('./crds.ts');
      await runCrds({ out: options.out }, io.stdout);
      setExitCode(0);
    });

  // ---- `ebb run` / `ebb start`: cluster mode, owned by src/cli/run.ts (see RunModule). ----
  for (const name of ['run', 'start'] as const) {
    program
      .command(name)
      .description(
        name === 'run'
          ? 'run the controller against a cluster'
          : 'same as run (kept for older scripts; npm start now runs ebb local)',
      )
      .helpOption(false)
      .allowUnknownOption()
      .allowExcessArguments()
      .argument('[args...]')
      .action(async (_args: string[], _options: unknown, command: Command) => {
        const module: RunModule = await import('./run.ts');
        setExitCode(await module.run(command.args, name, io));
      });
  }
  // ---- `ebb activator`: the controller + the HTTP activator in one process (src/cli/activator.ts). ----
  program
    .command('activator')
    .description(
      'run the HTTP activator: with --controller-url a replica reporting to the controllers, without it together with the controller in one process',
    )
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .argument('[args...]')
    .action(async (_args: string[], _options: unknown, command: Command) => {
      const { activatorCommand } = await import('./activator.ts');
      setExitCode(await activatorCommand(command.args, io));
    });
  // ---- `ebb local FILE`: embedded mode, LocalApps as local processes (src/cli/local.ts, local-command.ts). ----
  program
    .command('local')
    .description('embedded mode (npm start): scale the LocalApps of a file as local processes, no cluster')
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .argument('[args...]')
    .action(async (_args: string[], _options: unknown, command: Command) => {
      const { localCommand } = await import('./local-command.ts');
      setExitCode(await localCommand(command.args, io));
    });
  return program;
};

interface SimulateFlags {
  scaledobject: string;
  metrics: string;
  initialReplicas?: number;
  start?: Date;
  explain?: boolean;
  plot?: string;
  compare?: string;
}

/** Runs `ebb <argv>`; resolves to the exit code. Never throws: failures become a message. */
export const runCli = async (argv: readonly string[], io: CliIO): Promise<number> => {
  let exitCode = 0;
  const program = buildProgram(io, (code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    io.stderr.write(`ebb: ${describeError(error)}\n`);
    return 1;
  }
  return exitCode;
};
