// The file `ebb local FILE` reads: multi-document YAML with ScaledObjects (the same schema as on
// a cluster) and `LocalApp` documents, each declaring a process group that a ScaledObject's
// `scaleTargetRef.name` (and an http trigger's `service`) names. A replica of a LocalApp is one
// process on 127.0.0.1, given a free port in the variable `portEnv`.
//
//   apiVersion: local.ebb.dev/v1alpha1
//   kind: LocalApp
//   metadata: { name: hello }                      # namespace: "default" when omitted
//   spec:
//     command: node                                # run without a shell, found on $PATH
//     args: [app.js]
//     cwd: .                                       # relative to the file; default its folder
//     env: { STARTUP_DELAY_MS: "1500" }
//     portEnv: PORT                                # each replica gets its own free port here
//     readinessPath: /healthz                      # HTTP 2xx/3xx = ready; omitted: port accepts
//     protocol: h2c                                # spoken to over HTTP/2 (gRPC); default http/1.1
//     startupTimeoutSeconds: 60                    # not ready by then: killed, counted a crash
//     terminationGracePeriodSeconds: 5             # SIGTERM, then SIGKILL after this
//
// A ScaledObject's `scaleTargetRef` names a LocalApp (`kind`/`apiVersion` omitted or LocalApp's).
// Only the structure is checked here; ScaledObjects are admitted by the controller's admission
// (the caller runs it), so a file is refused with every problem, each naming its field.
import { dirname, isAbsolute, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { z } from 'zod';
import type { BackendProtocol } from '../../activator/ports.ts';
import { isMap, problemsFromZod } from '../../api/parse.ts';
import { InvalidSpec, type Problem } from '../../api/reasons.ts';
import { KIND as SCALED_OBJECT_KIND } from '../../api/scaledobject.ts';
import { keyOf } from '../ports.ts';

export const LOCAL_API_VERSION = 'local.ebb.dev/v1alpha1';
export const LOCAL_APP_KIND = 'LocalApp';
/** The namespace of an object whose file leaves it out (as `kubectl apply` would). */
export const DEFAULT_NAMESPACE = 'default';
export const DEFAULT_STARTUP_TIMEOUT_S = 60;
export const DEFAULT_GRACE_PERIOD_S = 5;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const name = z.string().regex(DNS_LABEL, 'must be a lowercase DNS label (a-z, 0-9, "-"; at most 63)');

export const LocalAppSpecSchema = z.strictObject({
  command: z.string().min(1),
  args: z.array(z.string()).optional(),
  cwd: z.string().min(1).optional(),
  // Keys checked after the record: zod reports a bad record key as "Invalid key in record".
  env: z
    .record(z.string(), z.string())
    .superRefine((env, ctx) => {
      for (const key of Object.keys(env)) {
        if (!ENV_NAME.test(key))
          ctx.addIssue({
            code: 'custom',
            path: [key],
            message: `must be an environment variable name (letters, digits, "_"), got ${JSON.stringify(key)}`,
          });
      }
    })
    .optional(),
  portEnv: z.string().regex(ENV_NAME, 'must be an environment variable name such as PORT'),
  readinessPath: z
    .string()
    .regex(/^\/[^\s?#]*$/, 'must be a URL path starting with "/" (no "?", "#" or spaces)')
    .optional(),
  // As a Service port's appProtocol says it on a cluster (ports.ts): h2c for HTTP/2 and gRPC apps.
  protocol: z.enum(['http/1.1', 'h2c']).optional(),
  startupTimeoutSeconds: z.number().positive().max(3600).optional(),
  terminationGracePeriodSeconds: z.number().min(0).max(3600).optional(),
});

export const LocalAppSchema = z.strictObject({
  apiVersion: z.literal(LOCAL_API_VERSION),
  kind: z.literal(LOCAL_APP_KIND),
  metadata: z.object({ name, namespace: name.optional() }),
  spec: LocalAppSpecSchema,
});

/** One process group, resolved: paths absolute, defaults applied. */
export interface LocalApp {
  readonly namespace: string;
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
  readonly portEnv: string;
  /** undefined: ready once the port accepts a TCP connection. */
  readonly readinessPath: string | undefined;
  /** How the activator speaks to its replicas (h2c: HTTP/2 without TLS, e.g. gRPC). */
  readonly protocol: BackendProtocol;
  readonly startupTimeoutMs: number;
  readonly gracePeriodMs: number;
}

export interface LocalFile {
  readonly apps: readonly LocalApp[];
  /** Raw ScaledObjects (namespace filled in), in file order, with their document number. */
  readonly scaledObjects: readonly { readonly doc: number; readonly raw: Record<string, unknown> }[];
}

/** A problem in one document of the file (1-based). */
export interface FileProblem extends Problem {
  readonly doc: number;
}

/** `FILE:DOC: path: message`, as `ebb validate` prints problems. */
export const fileProblemLine = (file: string, p: FileProblem): string =>
  `${file}:${p.doc}: ${p.path === '' ? '' : `${p.path}: `}${p.message}`;

const stringAt = (v: unknown, ...path: string[]): string | undefined => {
  let at: unknown = v;
  for (const key of path) at = isMap(at) ? at[key] : undefined;
  return typeof at === 'string' ? at : undefined;
};

/**
 * A ScaledObject's target in local mode is a LocalApp: `scaleTargetRef.kind` and `apiVersion`
 * are filled in when omitted (so Events say "Scaled LocalApp ...") and refused when they name
 * something else (a Deployment has no meaning here). Anything malformed is left to admission.
 */
const targetLocalApp = (spec: unknown, at: (path: string, message: string) => void): unknown => {
  if (!isMap(spec) || !isMap(spec.scaleTargetRef)) return spec;
  const ref = spec.scaleTargetRef;
  const refused = (field: 'kind' | 'apiVersion', want: string) => {
    const got = ref[field];
    if (got === undefined || got === want) return;
    at(
      `spec.scaleTargetRef.${field}`,
      `must be "${want}" or omitted in local mode (the target is a LocalApp of this file), got ${JSON.stringify(got)}`,
    );
  };
  refused('kind', LOCAL_APP_KIND);
  refused('apiVersion', LOCAL_API_VERSION);
  return { ...spec, scaleTargetRef: { ...ref, apiVersion: LOCAL_API_VERSION, kind: LOCAL_APP_KIND } };
};

/**
 * Parses the text of `file` (its folder resolves relative `cwd`s). Refused with every problem
 * found: YAML errors, unknown kinds, bad LocalApps, duplicates, and ScaledObjects whose target or
 * http `service` names no LocalApp.
 */
export const parseLocalFile = (
  file: string,
  text: string,
): { ok: true; value: LocalFile } | { ok: false; problems: FileProblem[] } => {
  const base = dirname(resolve(file));
  const problems: FileProblem[] = [];
  const apps: LocalApp[] = [];
  const appDocs: number[] = [];
  const scaledObjects: { doc: number; raw: Record<string, unknown> }[] = [];
  const at = (doc: number, path: string, message: string): void => {
    problems.push({ doc, path, reason: InvalidSpec, message });
  };

  parseAllDocuments(text).forEach((document, i) => {
    const doc = i + 1;
    const error = document.errors[0];
    if (error !== undefined) {
      const pos = error.linePos?.[0];
      const where = pos === undefined ? '' : `line ${pos.line}, column ${pos.col}: `;
      at(doc, '', `not YAML: ${where}${error.message.split('\n')[0] ?? error.code}`);
      return;
    }
    const value: unknown = document.toJS();
    if (value === null || value === undefined) return;
    if (!isMap(value)) {
      at(doc, '', 'must be a LocalApp or a ScaledObject (a YAML mapping)');
      return;
    }
    const kind = value.kind;
    if (kind === LOCAL_APP_KIND) {
      const parsed = LocalAppSchema.safeParse(value, { reportInput: true });
      if (!parsed.success) {
        for (const p of problemsFromZod(parsed.error)) problems.push({ ...p, doc });
        return;
      }
      const { metadata, spec } = parsed.data;
      const cwd = spec.cwd === undefined ? base : isAbsolute(spec.cwd) ? spec.cwd : resolve(base, spec.cwd);
      appDocs.push(doc);
      apps.push({
        namespace: metadata.namespace ?? DEFAULT_NAMESPACE,
        name: metadata.name,
        command: spec.command,
        args: spec.args ?? [],
        cwd,
        env: spec.env ?? {},
        portEnv: spec.portEnv,
        readinessPath: spec.readinessPath,
        protocol: spec.protocol ?? 'http/1.1',
        startupTimeoutMs: (spec.startupTimeoutSeconds ?? DEFAULT_STARTUP_TIMEOUT_S) * 1000,
        gracePeriodMs: (spec.terminationGracePeriodSeconds ?? DEFAULT_GRACE_PERIOD_S) * 1000,
      });
      return;
    }
    if (kind === SCALED_OBJECT_KIND) {
      const metadata = isMap(value.metadata) ? value.metadata : {};
      const namespace = typeof metadata.namespace === 'string' ? metadata.namespace : DEFAULT_NAMESPACE;
      const targeted = targetLocalApp(value.spec, (path, message) => at(doc, path, message));
      scaledObjects.push({ doc, raw: { ...value, metadata: { ...metadata, namespace }, spec: targeted } });
      return;
    }
    at(
      doc,
      'kind',
      `must be "${LOCAL_APP_KIND}" or "${SCALED_OBJECT_KIND}", got ${typeof kind === 'string' ? JSON.stringify(kind) : 'nothing'}`,
    );
  });

  const appKeys = new Set<string>();
  apps.forEach((app, i) => {
    const key = keyOf(app);
    if (appKeys.has(key)) at(appDocs[i] ?? 0, 'metadata.name', `LocalApp ${key} is declared more than once`);
    appKeys.add(key);
  });
  const objectKeys = new Set<string>();
  for (const { doc, raw } of scaledObjects) {
    const namespace = stringAt(raw, 'metadata', 'namespace') ?? DEFAULT_NAMESPACE;
    const objectName = stringAt(raw, 'metadata', 'name');
    if (objectName !== undefined) {
      const key = `${namespace}/${objectName}`;
      if (objectKeys.has(key)) at(doc, 'metadata.name', `ScaledObject ${key} is declared more than once`);
      objectKeys.add(key);
    }
    const target = stringAt(raw, 'spec', 'scaleTargetRef', 'name');
    if (target !== undefined && !appKeys.has(`${namespace}/${target}`)) {
      at(doc, 'spec.scaleTargetRef.name', `names no LocalApp in this file: "${namespace}/${target}"`);
    }
    const triggers = isMap(raw.spec) && Array.isArray(raw.spec.triggers) ? raw.spec.triggers : [];
    triggers.forEach((trigger: unknown, index) => {
      if (stringAt(trigger, 'type') !== 'http') return;
      const service = stringAt(trigger, 'metadata', 'service')?.trim();
      if (service !== undefined && service !== '' && !appKeys.has(`${namespace}/${service}`)) {
        at(
          doc,
          `spec.triggers[${index}].metadata.service`,
          `names no LocalApp in this file: "${namespace}/${service}" (in local mode the service is a LocalApp)`,
        );
      }
    });
  }
  if (problems.length === 0 && apps.length === 0 && scaledObjects.length === 0) {
    at(1, '', `declares nothing: expected ${LOCAL_APP_KIND} and ${SCALED_OBJECT_KIND} documents`);
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, value: { apps, scaledObjects } };
};
