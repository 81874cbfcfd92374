// The CLI people expect (issue 13): `ebb --version`, the global --log-level / --log-format, an
// EBB_* variable for every flag of every command (listed in its --help; the flag wins), and
// `ebb completion bash` run by a real bash.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { commandTree, completionScript } from '../../src/cli/completion.ts';
import { envVarOf } from '../../src/cli/flags.ts';
import type { CliIO } from '../../src/cli/io.ts';
import { buildProgram, OWN_FLAG_COMMANDS, runCli } from '../../src/cli/program.ts';
import { configureLogging, formatLogLine } from '../../src/logging.ts';

const packageVersion = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  }
).version;

const captured = () => {
  const out = { stdout: '', stderr: '' };
  const io: CliIO = {
    stdout: { write: (t: string) => (out.stdout += t) },
    stderr: { write: (t: string) => (out.stderr += t) },
    now: () => new Date(0),
    readText: async () => '',
  };
  return { io, out };
};

const cli = async (argv: string[]) => {
  const { io, out } = captured();
  const code = await runCli(argv, io);
  return { code, ...out };
};

afterEach(() => {
  vi.unstubAllEnvs();
  configureLogging({});
});

describe('ebb --version', () => {
  it.each([['--version'], ['-V']])('%s prints the version from package.json', async (flag) => {
    vi.stubEnv('EBB_GIT_COMMIT', '');
    expect(await cli([flag])).toEqual({ code: 0, stdout: `ebb ${packageVersion}\n`, stderr: '' });
  });

  it('adds the commit when EBB_GIT_COMMIT is set', async () => {
    vi.stubEnv('EBB_GIT_COMMIT', '1a2b3c4');
    expect((await cli(['--version'])).stdout).toBe(`ebb ${packageVersion} (commit 1a2b3c4)\n`);
  });
});

describe('--log-level and --log-format', () => {
  it('refuses a level that is not one of pino’s, naming the flag and the choices', async () => {
    const { code, stderr } = await cli(['--log-level', 'verbose', 'crds']);
    expect(code).not.toBe(0);
    expect(stderr).toContain(
      "option '--log-level <level>' argument 'verbose' is invalid. Allowed choices are trace",
    );
  });

  it('refuses a bad EBB_LOG_LEVEL with the same error, naming the variable', async () => {
    vi.stubEnv('EBB_LOG_LEVEL', 'loud');
    const { code, stderr } = await cli(['crds']);
    expect(code).not.toBe(0);
    expect(stderr).toContain(
      "option '--log-level <level>' value 'loud' from env 'EBB_LOG_LEVEL' is invalid.",
    );
  });

  it('is accepted after the command name too (a global flag)', async () => {
    const { code } = await cli(['completion', 'bash', '--log-level', 'debug', '--log-format', 'text']);
    expect(code).toBe(0);
  });

  it('formats a pino line as one human line: time, level, object, trigger, message, fields', () => {
    const at = new Date(2024, 5, 3, 12, 0, 1, 100).getTime();
    const line = JSON.stringify({
      level: 40,
      time: at,
      pid: 1,
      hostname: 'h',
      app: 'ebb',
      namespace: 'default',
      name: 'orders',
      trigger: 'kafka',
      msg: 'cannot reach the broker',
      attempt: 3,
      broker: 'kafka 0:9092',
    });
    expect(formatLogLine(`${line}\n`)).toBe(
      '12:00:01.100 WARN  default/orders [kafka] cannot reach the broker attempt=3 broker="kafka 0:9092"\n',
    );
    expect(formatLogLine('not json\n')).toBe('not json\n');
  });
});

/** Every command of the program, with the Command that holds its real flags. */
const everyCommand = async (io: CliIO): Promise<[string, Command][]> => {
  const program = buildProgram(io, () => {});
  const own = await Promise.all(
    program.commands.map(async (command): Promise<[string, Command]> => {
      const build = OWN_FLAG_COMMANDS[command.name()];
      return [command.name(), build === undefined ? command : await build(io)];
    }),
  );
  return [['ebb', program], ...own];
};

describe('EBB_* environment variables', () => {
  it('every flag of every command has its EBB_* variable, listed in that command’s --help', async () => {
    const { io } = captured();
    let flags = 0;
    for (const [name, command] of await everyCommand(io)) {
      const help = command.helpInformation().replace(/\s+/g, ' ');
      for (const option of command.options) {
        if (option.long === '--version') continue;
        flags++;
        const expected = `EBB_${(option.long ?? '').slice(2).replaceAll('-', '_').toUpperCase()}`;
        expect(option.envVar, `${name} ${option.long}`).toBe(expected);
        expect(envVarOf(option)).toBe(expected);
        expect(help, `${name} --help lists ${expected}`).toContain(`env: ${expected}`);
      }
    }
    // run, activator and local alone have more than 50; a walk that saw none would pass vacuously.
    expect(flags).toBeGreaterThan(50);
  });

  it('a variable sets the flag; the flag wins over it', async () => {
    const { io } = captured();
    const command = await OWN_FLAG_COMMANDS.run?.(io);
    vi.stubEnv('EBB_POLL_TIMEOUT', '7');
    command?.parse(['--lease-name', 'x'], { from: 'user' });
    expect(command?.opts().pollTimeout).toBe(7000);
    const again = await OWN_FLAG_COMMANDS.run?.(io);
    again?.parse(['--poll-timeout', '3'], { from: 'user' });
    expect(again?.opts().pollTimeout).toBe(3000);
  });

  it('a bad variable gets the flag’s own error, naming the variable', async () => {
    vi.stubEnv('EBB_POLL_TIMEOUT', '1m');
    const { run } = await import('../../src/cli/run.ts');
    const { io, out } = captured();
    expect(await run([], io)).not.toBe(0);
    expect(out.stderr).toContain(
      "option '--poll-timeout <s>' value '1m' from env 'EBB_POLL_TIMEOUT' is invalid. must be seconds > 0",
    );
  });

  it.each([
    ['true', true],
    ['1', true],
    ['false', undefined],
    ['0', undefined],
  ])(
    'a boolean variable is read as Go’s ParseBool reads it: EBB_LEADER_ELECT=%s',
    async (value, expected) => {
      vi.stubEnv('EBB_LEADER_ELECT', value);
      const { parseFlags } = await import('../../src/cli/flags.ts');
      const { io } = captured();
      const flags = parseFlags<{ leaderElect?: boolean }>((await OWN_FLAG_COMMANDS.run?.(io)) as Command, []);
      expect(typeof flags === 'number' ? flags : flags.leaderElect).toBe(expected);
    },
  );

  it('a boolean variable that is neither true nor false stops the command, naming it', async () => {
    vi.stubEnv('EBB_EXPLAIN', 'yes');
    const { code, stderr } = await cli(['simulate', '--scaledobject', 'a.yaml', '--metrics', 'b.csv']);
    expect(code).toBe(2);
    expect(stderr).toContain("option '--explain' value 'yes' from env 'EBB_EXPLAIN' is invalid.");
  });
});

/** Runs the generated script in a real bash and asks it to complete `words` (the last is the cursor's). */
const complete = (script: string, words: string[]): string[] => {
  const array = words.map((w) => `'${w}'`).join(' ');
  const run = spawnSync(
    'bash',
    [
      '-c',
      `${script}\ncomplete -p ebb\nCOMP_WORDS=(${array}); COMP_CWORD=${words.length - 1}; _ebb; printf '%s\\n' "\${COMPREPLY[@]}"`,
    ],
    { encoding: 'utf8' },
  );
  expect(run.stderr).toBe('');
  const [registration, ...reply] = run.stdout.trimEnd().split('\n');
  expect(registration).toBe('complete -o default -F _ebb ebb');
  return reply.filter((line) => line !== '');
};

describe('ebb completion', () => {
  it('prints a bash script that bash loads and that completes commands, flags and choices', async () => {
    const { code, stdout } = await cli(['completion', 'bash']);
    expect(code).toBe(0);
    expect(complete(stdout, ['ebb', 'ac'])).toEqual(['activator']);
    expect(complete(stdout, ['ebb', 'st'])).toEqual(['start']);
    expect(complete(stdout, ['ebb', '--log-level', ''])).toEqual([
      'trace',
      'debug',
      'info',
      'warn',
      'error',
      'fatal',
      'silent',
    ]);
    // The flags of `ebb run` come from run.ts's own command, not the pass-through.
    expect(complete(stdout, ['ebb', 'run', '--poll-t'])).toEqual(['--poll-timeout']);
    expect(complete(stdout, ['ebb', 'start', '--report-auth', ''])).toEqual(['tokenreview', 'none']);
    expect(complete(stdout, ['ebb', '--log-level', 'warn', 'activator', '--drain-d'])).toEqual([
      '--drain-delay',
    ]);
    expect(complete(stdout, ['ebb', 'local', '--ui'])).toEqual(['--ui-port', '--ui-allowed-host']);
    expect(complete(stdout, ['ebb', 'completion', ''])).toEqual(['bash', 'zsh']);
    // A flag's free value and a file argument: nothing offered, so bash completes file names.
    expect(complete(stdout, ['ebb', 'run', '--kubeconfig', ''])).toEqual([]);
  });

  it('the zsh script is the same function behind zsh’s bashcompinit', async () => {
    const { io } = captured();
    const tree = await commandTree(
      buildProgram(io, () => {}),
      OWN_FLAG_COMMANDS,
      io,
    );
    const zsh = completionScript('zsh', tree);
    expect(zsh).toContain('autoload -U +X bashcompinit && bashcompinit');
    expect(zsh.replace(/^.*bashcompinit\n/m, '').replace(/^#.*\n/gm, '')).toBe(
      completionScript('bash', tree).replace(/^#.*\n/gm, ''),
    );
  });
});
