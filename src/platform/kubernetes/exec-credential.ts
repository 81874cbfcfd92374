// Exec credential plugins (client-go's plugin/pkg/client/auth/exec; KEP-541): a kubeconfig user
// `exec: {command, args, env, apiVersion}` runs a program that prints an ExecCredential
// (client.authentication.k8s.io/v1 or v1beta1) with a token or a client certificate. As client-go:
// - KUBERNETES_EXEC_INFO carries `{kind, apiVersion, spec: {interactive: false[, cluster]}}`;
//   ebb never has a terminal, so `interactiveMode: Always` is refused up front.
// - The credential is cached until its `expirationTimestamp` (forever without one); a 401 answered
//   to it drops it, so the next request runs the plugin again. Concurrent requests share one run.
// - `command` with a path separator but not absolute resolves against the kubeconfig's directory.
// Beyond client-go: a run that takes over EXEC_TIMEOUT_MS is killed (a hung plugin would hang
// every request), and its stderr (last 2 KiB) is quoted in the error with the installHint.
import { execFile } from 'node:child_process';
import { isAbsolute, join, sep } from 'node:path';
import { isMap } from '../../api/parse.ts';
import type { Clock } from '../../clock.ts';
import { KubeconfigError } from './kubeconfig-fields.ts';

const EXEC_V1 = 'client.authentication.k8s.io/v1';
const EXEC_V1BETA1 = 'client.authentication.k8s.io/v1beta1';
export const EXEC_TIMEOUT_MS = 60_000;
const MAX_OUTPUT = 1 << 20;

export interface ExecConfig {
  readonly command: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly apiVersion: string;
  readonly installHint?: string | undefined;
  readonly provideClusterInfo: boolean;
  /** Names the kubeconfig field, for errors. */
  readonly where: string;
}

/** What a run gave: a bearer token, or a client certificate and key (PEM). */
export interface ExecCredential {
  readonly token?: string | undefined;
  readonly clientCert?: { readonly cert: string; readonly key: string } | undefined;
  /** Monotonic ms (clock.now()) after which it is run again; undefined: never expires. */
  readonly expiresAt?: number | undefined;
}

/** Parses `users[i].user.exec`; errors name `file` and the field. */
export const parseExecConfig = (raw: unknown, file: string, field: string, dir: string): ExecConfig => {
  const err = (key: string, reason: string) => new KubeconfigError(file, `${field}.${key}`, reason);
  if (!isMap(raw)) throw new KubeconfigError(file, field, 'a map expected');
  const command = raw.command;
  if (typeof command !== 'string' || command === '') throw err('command', 'a non-empty string expected');
  const apiVersion = raw.apiVersion;
  if (apiVersion !== EXEC_V1 && apiVersion !== EXEC_V1BETA1)
    throw err('apiVersion', `${JSON.stringify(apiVersion)}: ${EXEC_V1} or ${EXEC_V1BETA1} expected`);
  const args = raw.args ?? [];
  if (!Array.isArray(args) || !args.every((a) => typeof a === 'string'))
    throw err('args', 'a list of strings expected');
  const env: Record<string, string> = {};
  const envList = raw.env ?? [];
  if (!Array.isArray(envList)) throw err('env', 'a list of {name, value} expected');
  envList.forEach((e: unknown, i) => {
    if (!isMap(e) || typeof e.name !== 'string' || e.name === '' || typeof e.value !== 'string')
      throw err(`env[${i}]`, 'a {name, value} pair of strings expected');
    env[e.name] = e.value;
  });
  const mode = raw.interactiveMode;
  if (mode === undefined && apiVersion === EXEC_V1)
    throw err('interactiveMode', 'required by v1 (Never or IfAvailable)');
  if (mode !== undefined && mode !== 'Never' && mode !== 'IfAvailable' && mode !== 'Always')
    throw err('interactiveMode', `${JSON.stringify(mode)}: Never, IfAvailable or Always expected`);
  if (mode === 'Always') throw err('interactiveMode', 'Always needs a terminal, and ebb runs without one');
  const hint = raw.installHint;
  const provide = raw.provideClusterInfo ?? false;
  if (typeof provide !== 'boolean') throw err('provideClusterInfo', 'true or false expected');
  return {
    command: !isAbsolute(command) && command.includes(sep) ? join(dir, command) : command,
    args: args as string[],
    env,
    apiVersion,
    installHint: typeof hint === 'string' && hint !== '' ? hint : undefined,
    provideClusterInfo: provide,
    where: `${file}: ${field}`,
  };
};

/** The cluster as `spec.cluster` of KUBERNETES_EXEC_INFO (provideClusterInfo). */
export interface ExecClusterInfo {
  readonly server: string;
  readonly 'certificate-authority-data'?: string;
  readonly 'insecure-skip-tls-verify'?: boolean;
  readonly 'tls-server-name'?: string;
  readonly 'proxy-url'?: string;
}

/** Runs the plugin when the cached credential is missing, expired or refused. */
export class ExecCredentialSource {
  private cached: ExecCredential | undefined;
  private running: Promise<ExecCredential> | undefined;
  /** Runs so far (tests and logs). */
  runs = 0;

  constructor(
    private readonly config: ExecConfig,
    private readonly clock: Clock,
    private readonly cluster?: ExecClusterInfo,
  ) {}

  async get(): Promise<ExecCredential> {
    const c = this.cached;
    if (c !== undefined && (c.expiresAt === undefined || this.clock.now() < c.expiresAt)) return c;
    this.running ??= this.run().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** A 401 answered a request made with `used`: drop it unless a newer one replaced it already. */
  refused(used: ExecCredential): void {
    if (this.cached === used) this.cached = undefined;
  }

  private async run(): Promise<ExecCredential> {
    this.runs++;
    const info = {
      kind: 'ExecCredential',
      apiVersion: this.config.apiVersion,
      spec: {
        interactive: false,
        ...(this.config.provideClusterInfo && this.cluster ? { cluster: this.cluster } : {}),
      },
    };
    const env = { ...process.env, ...this.config.env, KUBERNETES_EXEC_INFO: JSON.stringify(info) };
    const { stdout, failure } = await new Promise<{ stdout: string; failure?: string }>((resolve) => {
      const child = execFile(
        this.config.command,
        [...this.config.args],
        { env, timeout: EXEC_TIMEOUT_MS, maxBuffer: MAX_OUTPUT, encoding: 'utf8' },
        (error, out, stderr) => {
          if (error === null) return resolve({ stdout: out });
          const code = (error as NodeJS.ErrnoException).code;
          const why =
            code === 'ENOENT'
              ? 'not found'
              : error.killed
                ? `killed after ${EXEC_TIMEOUT_MS / 1000} s`
                : `exited with ${String(code ?? error.signal)}`;
          const tail = stderr.slice(-2048).trim();
          resolve({ stdout: '', failure: `${why}${tail === '' ? '' : `: ${tail}`}` });
        },
      );
      // Not interactive (client-go leaves stdin unset): a plugin that reads it sees end of file.
      child.stdin?.end();
    });
    if (failure !== undefined) throw this.error(`running "${this.config.command}" failed: ${failure}`, true);
    const credential = this.parse(stdout);
    this.cached = credential;
    return credential;
  }

  private parse(stdout: string): ExecCredential {
    let doc: unknown;
    try {
      doc = JSON.parse(stdout);
    } catch {
      throw this.error('the plugin printed something that is not JSON');
    }
    if (!isMap(doc) || doc.kind !== 'ExecCredential')
      throw this.error('the plugin printed no ExecCredential');
    if (doc.apiVersion !== this.config.apiVersion)
      throw this.error(
        `the plugin answered ${JSON.stringify(doc.apiVersion)}, ${this.config.apiVersion} was asked for`,
      );
    const status = doc.status;
    if (!isMap(status)) throw this.error('the ExecCredential has no status');
    const str = (k: string): string | undefined => {
      const v = status[k];
      if (v === undefined || v === null || v === '') return undefined;
      if (typeof v !== 'string') throw this.error(`status.${k}: a string expected`);
      return v;
    };
    const token = str('token');
    const cert = str('clientCertificateData');
    const key = str('clientKeyData');
    if ((cert === undefined) !== (key === undefined))
      throw this.error('status: clientCertificateData and clientKeyData go together');
    if (token === undefined && cert === undefined)
      throw this.error('status: neither a token nor a client certificate');
    const expiry = str('expirationTimestamp');
    let expiresAt: number | undefined;
    if (expiry !== undefined) {
      const at = Date.parse(expiry);
      if (Number.isNaN(at))
        throw this.error(`status.expirationTimestamp: ${JSON.stringify(expiry)} is not RFC 3339`);
      // The wall-clock expiry as a monotonic deadline: the cache compares clock.now() to it.
      expiresAt = this.clock.now() + (at - this.clock.wallNow());
    }
    return {
      token,
      clientCert: cert === undefined || key === undefined ? undefined : { cert, key },
      expiresAt,
    };
  }

  private error(reason: string, hint = false): Error {
    const install = hint && this.config.installHint !== undefined ? `\n${this.config.installHint}` : '';
    return new Error(`${this.config.where}: ${reason}${install}`);
  }
}
