// `ebb crds [--out DIR]`: print the CRDs ebb installs, or write them to DIR (`npm run crds`
// regenerates the checked-in `crds/` this way).
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CRD_FILE, renderCrds } from '../api/crd.ts';
import type { Output } from './io.ts';

export interface CrdsOptions {
  /** Directory to write `scaledobjects.autoscaling.ebb.dev.yaml` into; stdout when omitted. */
  out?: string | undefined;
}

/** Writes the CRD YAML; returns the path written, or undefined when it went to `stdout`. */
export const runCrds = async (
  opts: CrdsOptions = {},
  stdout: Output = process.stdout,
): Promise<string | undefined> => {
  const yaml = renderCrds();
  if (opts.out === undefined) {
    stdout.write(yaml);
    return undefined;
  }
  await mkdir(opts.out, { recursive: true });
  const path = join(opts.out, CRD_FILE);
  await writeFile(path, yaml);
  stdout.write(`wrote ${path}\n`);
  return path;
};
