// Typed reads of one kubeconfig entry (a cluster, user or context map) and the error every
// kubeconfig problem becomes: `<file>: <field>: <reason>`, so a user can find the line.
import { dirname, isAbsolute, join } from 'node:path';
import type { RawMap } from '../../api/parse.ts';

/** A kubeconfig (or in-cluster) problem: `<file>: <field>: <reason>`. */
export class KubeconfigError extends Error {
  constructor(
    readonly file: string,
    readonly field: string,
    reason: string,
  ) {
    super(field === '' ? `${file}: ${reason}` : `${file}: ${field}: ${reason}`);
    this.name = 'KubeconfigError';
  }
}

/** A PEM value: inline bytes (`-data`) or a file read when the transport is (re)built. */
export type Pem = { readonly data: Buffer } | { readonly file: string };

export interface Named {
  readonly value: RawMap;
  /** `clusters[2]` in `file`. */
  readonly field: string;
  readonly file: string;
}

/** Typed reads of one entry's fields; each error names the file and the field. */
export class Fields {
  readonly file: string;
  readonly field: string;
  readonly dir: string;
  private readonly value: RawMap;

  constructor(named: Named) {
    this.value = named.value;
    this.file = named.file;
    this.field = named.field;
    this.dir = dirname(named.file);
  }

  error(key: string, reason: string): KubeconfigError {
    return new KubeconfigError(this.file, key === '' ? this.field : `${this.field}.${key}`, reason);
  }

  has(key: string): boolean {
    const v = this.value[key];
    return v !== undefined && v !== null && v !== '';
  }

  raw(key: string): unknown {
    return this.has(key) ? this.value[key] : undefined;
  }

  string(key: string): string | undefined {
    const v = this.value[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') throw this.error(key, `a string expected, got ${typeof v}`);
    return v;
  }

  boolean(key: string): boolean {
    const v = this.value[key];
    if (v === undefined || v === null) return false;
    if (typeof v !== 'boolean') throw this.error(key, `true or false expected, got ${JSON.stringify(v)}`);
    return v;
  }

  /** An http:// or https:// URL, or undefined when unset. */
  httpUrl(key: string): string | undefined {
    const v = this.string(key);
    if (v === undefined || v === '') return undefined;
    let url: URL;
    try {
      url = new URL(v);
    } catch {
      throw this.error(key, `"${v}" is not a URL`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:')
      throw this.error(key, `"${url.protocol}//" is not supported (https:// and http:// are)`);
    return v;
  }

  /** A file path; a relative one resolves against the kubeconfig file's directory (client-go). */
  path(key: string): string | undefined {
    const v = this.string(key);
    if (v === undefined || v === '') return undefined;
    return isAbsolute(v) ? v : join(this.dir, v);
  }

  /** `<key>` (a file) or `<key>-data` (base64 PEM); `-data` wins, as in client-go. */
  pem(key: string): Pem | undefined {
    const data = this.string(`${key}-data`);
    if (data !== undefined && data !== '') {
      const compact = data.replace(/\s+/g, '');
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 !== 0)
        throw this.error(`${key}-data`, 'not base64');
      const bytes = Buffer.from(compact, 'base64');
      if (!bytes.toString('latin1').includes('-----BEGIN '))
        throw this.error(`${key}-data`, 'does not decode to PEM (no "-----BEGIN" line)');
      return { data: bytes };
    }
    const file = this.path(key);
    return file === undefined ? undefined : { file };
  }
}
