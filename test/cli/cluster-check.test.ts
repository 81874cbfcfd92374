// locateKubeconfig follows the loader's (client-go's) rules for $KUBECONFIG: files that do not
// exist are skipped, one that exists must be readable, and a list of only missing files is named.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { locateKubeconfig } from '../../src/cli/cluster-check.ts';

const dir = mkdtempSync(join(tmpdir(), 'ebb-cluster-check-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const home = join(dir, 'home');

describe('locateKubeconfig: $KUBECONFIG', () => {
  it('skips files that do not exist, as client-go (and the loader) do', () => {
    const real = join(dir, 'real');
    writeFileSync(real, 'current-context: x\n');
    const missing = join(dir, 'missing');
    expect(locateKubeconfig({ env: { KUBECONFIG: [missing, real].join(delimiter) }, home })).toEqual({
      ok: true,
      source: `$KUBECONFIG ${real}`,
    });
  });

  it('names the list when none of its files exists', () => {
    const list = [join(dir, 'a'), join(dir, 'b')].join(delimiter);
    expect(locateKubeconfig({ env: { KUBECONFIG: list }, home })).toEqual({
      ok: false,
      unreadable: true,
      tried: [['$KUBECONFIG', `none of ${list} exists`]],
    });
  });

  it('still refuses a file that exists but cannot be read (a directory)', () => {
    const result = locateKubeconfig({ env: { KUBECONFIG: dir }, home });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.tried[0]?.[1]).toContain(`cannot read ${dir}: EISDIR`);
  });
});
