// The `ebb` command line. Each command's module is imported when the command runs, so a
// command whose module is missing or broken cannot break the others (`ebb validate` never
// loads the Kubernetes client).
import { Argument, type Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { configureLogging, LOG_FORMATS, LOG_LEVELS, type LoggingSettings } from '../logging.ts';
import { versionLine } from '../observability/build-info.ts';
import { COMPLETION_SHELLS, type CompletionShell, commandTree, completionScript } from './completion.ts';
import { checkBooleanEnv, EbbCommand } from './flags.ts';
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
 * What `src/cli/run.ts` exports for `ebb run` (cluster mode; `ebb start` is another name for
 * it): it parses its own flags from `argv` (everything after the command) and resolves to the
 * exit code.
 */
export interface RunModule {
  run(argv: readonly string[], io: CliIO): Promise<number>;
}

/**
 * The commands that parse their own flags (their modules load the Kubernetes client or the
 * local platform, so the program only names them): name → the Command with their flags, for
 * `ebb completion` and the test that every flag has its EBB_* variable.
 */
export const OWN_FLAG_COMMANDS: Readonly<Record<string, (io: CliIO) => Promise<Command>>> = {
  run: async (io) => (await import('./run.ts')).runFlagsCommand(io),
  activator: async (io) => (await import('./activator.ts')).activatorFlagsCommand(io),
  local: async (io) => (await import('./local-command.ts')).localFlagsCommand(io),
};

/** A command whose flags its own module parses: `ebb <name> [args...]` passed through. */
const ownFlags = (command: Command): Command =>
  command.helpOption(false).allowUnknownOption().allowExcessArguments().argument('[args...]');

export const buildProgram = (io: CliIO, setExitCode: (code: number) => void): Command => {
  const program = new EbbCommand('ebb')
    .description('Event-driven autoscaling for Kubernetes: KEDA-compatible ScaledObjects')
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    })
    .exitOverride()
    .showHelpAfterError('(run "ebb help" for the commands)')
    .version(versionLine(), '-V, --version', 'print the version (and the commit, from EBB_GIT_COMMIT)')
    // Global: before or after the command name (`ebb --log-level debug run`, `ebb run --log-level debug`).
    .addOption(
      new Option('--log-level <level>', 'log level (default: info; ebb local: error)').choices(LOG_LEVELS),
    )
    .addOption(
      new Option(
        '--log-format <format>',
        'log lines as JSON or text (default: text on a terminal, else JSON)',
      ).choices(LOG_FORMATS),
    )
    .hook('preAction', (_program, action) => {
      checkBooleanEnv(action);
      configureLogging(program.opts<LoggingSettings>());
    });

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
    .command('migrate')
    .description(
      'rewrite KEDA manifests for ebb; reports on stderr every behavioural difference that applies',
    )
    .argument(
      '<path...>',
      'YAML files or directories (YAML files inside, recursively; "-" reads standard input)',
    )
    .option('--out <dir>', 'write the converted files under DIR instead of standard output')
    .addOption(new Option('--output <format>', 'report format').choices(['text', 'json']).default('text'))
    .action(async (paths: string[], opts: { out?: string; output: 'text' | 'json' }) => {
      const { runMigrate } = await import('./migrate.ts');
      setExitCode(await runMigrate(paths, opts, io));
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

  // ---- `ebb run` (alias `ebb start`): cluster mode, owned by src/cli/run.ts (see RunModule). ----
  ownFlags(
    program
      .command('run')
      .alias('start')
      .description('run the controller against a cluster (`ebb run --help` for its flags; start: the same)'),
  ).action(async (_args: string[], _options: unknown, command: Command) => {
    const module: RunModule = await import('./run.ts');
    setExitCode(await module.run(command.args, io));
  });
  // ---- `ebb activator`: the controller + the HTTP activator in one process (src/cli/activator.ts). ----
  ownFlags(
    program
      .command('activator')
      .description(
        'run the HTTP activator: with --controller-url a replica reporting to the controllers, without it together with the controller in one process',
      ),
  ).action(async (_args: string[], _options: unknown, command: Command) => {
    const { activatorCommand } = await import('./activator.ts');
    setExitCode(await activatorCommand(command.args, io));
  });
  // ---- `ebb local FILE`: embedded mode, LocalApps as local processes (src/cli/local.ts, local-command.ts). ----
  ownFlags(
    program
      .command('local')
      .description('embedded mode (npm start): scale the LocalApps of a file as local processes, no cluster'),
  ).action(async (_args: string[], _options: unknown, command: Command) => {
    const { localCommand } = await import('./local-command.ts');
    setExitCode(await localCommand(command.args, io));
  });
  // ---- `ebb completion bash|zsh`: generated from this program (src/cli/completion.ts). ----
  program
    .command('completion')
    .description('print a shell completion script: source <(ebb completion bash)')
    .addArgument(new Argument('<shell>', 'the shell').choices(COMPLETION_SHELLS))
    .action(async (shell: CompletionShell) => {
      io.stdout.write(completionScript(shell, await commandTree(program, OWN_FLAG_COMMANDS, io)));
      setExitCode(0);
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
