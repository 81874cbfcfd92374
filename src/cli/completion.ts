// `ebb completion bash|zsh`: a completion script generated from the commander program itself
// (commands and aliases, every command's flags, the choices of enum flags and arguments), so a
// new flag or command completes without anyone editing a script. zsh runs the same function
// through its bashcompinit layer (what kubectl's and az's zsh scripts did for years).
import type { Command } from 'commander';
import type { CliIO } from './io.ts';

export const COMPLETION_SHELLS = ['bash', 'zsh'] as const;
export type CompletionShell = (typeof COMPLETION_SHELLS)[number];

export interface FlagNode {
  /** `--poll-timeout`, and `-V` where there is a short form. */
  readonly names: readonly string[];
  readonly takesValue: boolean;
  readonly choices?: readonly string[] | undefined;
  readonly envVar?: string | undefined;
}

export interface CommandNode {
  readonly names: readonly string[];
  readonly flags: readonly FlagNode[];
  /** The choices of its first argument (`ebb completion <shell>`), when it has any. */
  readonly argumentChoices?: readonly string[] | undefined;
}

export interface CommandTree {
  readonly globalFlags: readonly FlagNode[];
  readonly commands: readonly CommandNode[];
}

const flagsOf = (command: Command): FlagNode[] =>
  command.options.map((option) => ({
    names: [option.long, option.short].filter((name): name is string => name !== undefined),
    takesValue: option.required || option.optional,
    choices: option.argChoices,
    envVar: option.envVar,
  }));

/**
 * Every command with its flags. A command whose own module parses its flags (`ownFlags`) is
 * described by that module's Command, so its real flags are listed, not the pass-through.
 */
export const commandTree = async (
  program: Command,
  ownFlags: Readonly<Record<string, (io: CliIO) => Promise<Command>>>,
  io: CliIO,
): Promise<CommandTree> => ({
  globalFlags: flagsOf(program),
  commands: await Promise.all(
    program.commands.map(async (command) => {
      const build = ownFlags[command.name()];
      const flagsFrom = build === undefined ? command : await build(io);
      return {
        names: [command.name(), ...command.aliases()],
        flags: flagsOf(flagsFrom),
        argumentChoices: command.registeredArguments[0]?.argChoices,
      };
    }),
  ),
});

/** Words go into the script unquoted: only names made of these characters are allowed. */
const word = (text: string): string => {
  if (!/^[\w.:=-]+$/.test(text)) throw new Error(`cannot complete ${JSON.stringify(text)}: not a plain word`);
  return text;
};
const words = (list: readonly string[]): string => list.map(word).join(' ');

/** `case` arms completing each value-taking flag: its choices, or files (complete -o default). */
const valueArms = (commandPatterns: readonly string[], flags: readonly FlagNode[]): string[] =>
  flags
    .filter((flag) => flag.takesValue)
    .map((flag) => {
      const pattern = commandPatterns
        .flatMap((command) => flag.names.map((name) => `${command}:${word(name)}`))
        .join('|');
      const reply =
        flag.choices === undefined
          ? 'COMPREPLY=()'
          : `COMPREPLY=($(compgen -W "${words(flag.choices)}" -- "$cur"))`;
      return `    ${pattern}) ${reply}; return ;;`;
    });

const bashFunction = (tree: CommandTree): string => {
  const globalValueFlags = tree.globalFlags.filter((f) => f.takesValue).flatMap((f) => f.names);
  const commandNames = tree.commands.flatMap((c) => c.names);
  const globalNames = tree.globalFlags.flatMap((f) => f.names);
  const lines = [
    '_ebb() {',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: bash's ${…}, not a template
    '  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} cmd="" i',
    '  # The command: the first word that is neither a flag nor the value of a global flag.',
    '  for ((i = 1; i < COMP_CWORD; i++)); do',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: bash's ${…}, not a template
    '    case ${COMP_WORDS[i]} in',
    ...(globalValueFlags.length === 0 ? [] : [`      ${globalValueFlags.map(word).join('|')}) ((i++)) ;;`]),
    '      -*) ;;',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: bash's ${…}, not a template
    '      *) cmd=${COMP_WORDS[i]}; break ;;',
    '    esac',
    '  done',
    '  case "$cmd:$prev" in',
    ...valueArms(['*'], tree.globalFlags),
    ...tree.commands.flatMap((command) => valueArms(command.names.map(word), command.flags)),
    '  esac',
    '  case $cmd in',
    `    "") COMPREPLY=($(compgen -W "${words([...commandNames, ...globalNames])}" -- "$cur")) ;;`,
    ...tree.commands.map((command) => {
      const flags = words([...command.flags.flatMap((f) => f.names), ...globalNames]);
      const positional =
        command.argumentChoices === undefined
          ? 'COMPREPLY=()'
          : `COMPREPLY=($(compgen -W "${words(command.argumentChoices)}" -- "$cur"))`;
      return `    ${command.names.map(word).join('|')}) if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W "${flags}" -- "$cur")); else ${positional}; fi ;;`;
    }),
    '  esac',
    '}',
  ];
  return lines.join('\n');
};

/** The script for `shell`; `source <(ebb completion bash)`, or in ~/.zshrc for zsh. */
export const completionScript = (shell: CompletionShell, tree: CommandTree): string => {
  const body = [
    `# ebb completion for ${shell}, generated by \`ebb completion ${shell}\`. Load it with`,
    `#   source <(ebb completion ${shell})`,
    ...(shell === 'zsh' ? ['autoload -U +X bashcompinit && bashcompinit'] : []),
    bashFunction(tree),
    // -o default: with no word to offer (a file argument, a flag's free value), complete files.
    'complete -o default -F _ebb ebb',
    '',
  ];
  return body.join('\n');
};
