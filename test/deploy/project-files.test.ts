// The project's own files say what the project is: LICENSE is the Apache-2.0 text package.json
// names, CONTRIBUTING's commands are the package's scripts, the plain manifests' comment about
// their image and the README say the same, and the hygiene files the README and CONTRIBUTING
// link to exist.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url).pathname;
const read = (path: string) => readFileSync(join(root, path), 'utf8');
const pkg = JSON.parse(read('package.json')) as { license: string; scripts: Record<string, string> };

/** SHA-256 of the Apache License 2.0 as apache.org publishes it (the copy under node_modules/b4a). */
const APACHE_2_SHA256 = 'c71d239df91726fc519c6eb72d318ec65820627232b2f796219e87dcf35d0ab4';

describe('LICENSE', () => {
  it("is the Apache-2.0 text, unedited, as package.json's license says", () => {
    expect(pkg.license).toBe('Apache-2.0');
    const text = read('LICENSE');
    expect(text.trimStart().startsWith('Apache License')).toBe(true);
    expect(text).toContain('Version 2.0, January 2004');
    expect(text).toContain('END OF TERMS AND CONDITIONS');
    expect(createHash('sha256').update(text).digest('hex')).toBe(APACHE_2_SHA256);
  });
});

describe('CONTRIBUTING.md', () => {
  const text = read('CONTRIBUTING.md');

  it('gives the two commands, and every npm command it names is a script of the package', () => {
    expect(text).toMatch(/^npm install\b/m);
    expect(text).toMatch(/^npm test\b/m);
    const named = [...text.matchAll(/`?npm (?:run )?([a-z][\w:-]*)/g)].map((m) => m[1] as string);
    expect(named.length).toBeGreaterThanOrEqual(4);
    for (const name of named) {
      if (name === 'install') continue; // npm's own command
      expect(Object.keys(pkg.scripts), `npm ${name} in CONTRIBUTING.md`).toContain(name);
    }
  });

  it("links the architecture document's section on adding a scaler, which exists", () => {
    expect(text).toContain('docs/architecture.md#how-to-add-a-scaler');
    expect(read('docs/architecture.md')).toMatch(/^### How to add a scaler$/m);
  });

  it('names the three test layers', () => {
    for (const layer of ['**unit**', '**integration**', '**bench**']) expect(text).toContain(layer);
  });
});

describe('SECURITY.md and CHANGELOG.md', () => {
  it('SECURITY.md says how to report, what is in scope and which versions are supported', () => {
    const text = read('SECURITY.md');
    for (const heading of ['## Reporting a vulnerability', '## Supported versions', '## In scope'])
      expect(text).toContain(heading);
    expect(text).toContain('The activator on the internet');
    expect(text).toContain('Tenant isolation');
  });

  it("CHANGELOG.md has Unreleased and the package's version", () => {
    const text = read('CHANGELOG.md');
    expect(text).toMatch(/^## Unreleased$/m);
    expect(text).toMatch(
      new RegExp(`^## ${(JSON.parse(read('package.json')) as { version: string }).version} - `, 'm'),
    );
  });

  it('every hygiene file exists', () => {
    for (const f of ['LICENSE', 'CHANGELOG.md', 'SECURITY.md', 'CONTRIBUTING.md'])
      expect(existsSync(join(root, f))).toBe(true);
  });
});

describe('the plain manifests name their image', () => {
  it('the header says which image the Deployments run and how to substitute it; the README says the same', () => {
    const manifests = read('deploy/manifests/ebb.yaml');
    const images = new Set([...manifests.matchAll(/^\s+image: (\S+)$/gm)].map((m) => m[1]));
    expect(images.size).toBe(1);
    const [image] = images;
    const header = manifests.slice(0, manifests.indexOf('\napiVersion:'));
    expect(header).toContain(`image: ${image}`);
    const substitute = header.match(/^# {3}(sed .*)$/m)?.[1];
    expect(substitute).toContain(`s|image: ${image}|`);
    expect(read('README.md')).toContain(substitute);
  });
});
