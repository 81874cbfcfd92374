// The files one `ebb validate` run reads: each argument as given ("-" is standard input, a file
// is read whatever its name), and each directory walked recursively for `.yaml`/`.yml` files, in
// a stable order (entries sorted by name, depth first). A symbolic link is followed; one that
// leads back into a directory being walked (a loop) is refused with a message, as is anything
// in a directory with a YAML name that is not a regular file (a FIFO would block a read). The
// walk stops at MAX_FILES so a run over `/` ends.
import type { Dirent, Stats } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describeError } from '../io.ts';

/** Files one run reads from directories, at most. */
export const MAX_FILES = 10_000;

export type Input =
  /** A file to read (or "-"). */
  | { readonly file: string }
  /** A path that is not read, and why (a loop, a FIFO, a directory that cannot be listed). */
  | { readonly file: string; readonly refused: string };

const YAML_NAME = /\.ya?ml$/i;

const byName = (a: Dirent, b: Dirent): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** Every input of `args`, in order; a directory contributes its YAML files. */
export const expandInputs = async (args: readonly string[], maxFiles = MAX_FILES): Promise<Input[]> => {
  const out: Input[] = [];
  let fromDirectories = 0;

  /** Walks `dir` (whose real path is in `open`, the directories being walked). */
  const walk = async (dir: string, open: ReadonlySet<string>): Promise<void> => {
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      out.push({ file: dir, refused: `cannot list the directory: ${describeError(error)}` });
      return;
    }
    for (const entry of entries.sort(byName)) {
      const path = join(dir, entry.name);
      let info: Stats;
      try {
        info = await stat(path); // follows a symbolic link
      } catch (error) {
        if (YAML_NAME.test(entry.name)) out.push({ file: path, refused: describeError(error) });
        continue;
      }
      if (info.isDirectory()) {
        const real = await realpath(path);
        if (open.has(real)) {
          out.push({
            file: path,
            refused: `a symbolic link loop: it leads back to ${real}, already being read`,
          });
          continue;
        }
        await walk(path, new Set([...open, real]));
      } else if (YAML_NAME.test(entry.name)) {
        if (++fromDirectories > maxFiles) {
          out.push({
            file: path,
            refused: `more than ${maxFiles} YAML files under the directories given, the most one run reads; validate the rest in another run`,
          });
          return;
        }
        // A FIFO, socket or device: io.ts's reader refuses it by name without blocking on it.
        out.push({ file: path });
      }
      if (fromDirectories > maxFiles) return;
    }
  };

  for (const arg of args) {
    if (arg === '-') {
      out.push({ file: arg });
      continue;
    }
    let info: Stats | undefined;
    try {
      info = await stat(arg);
    } catch {
      info = undefined; // the reader says why (no such file, permission)
    }
    if (info?.isDirectory() === true) await walk(arg, new Set([await realpath(arg)]));
    else out.push({ file: arg });
  }
  return out;
};
