// TriggerAuthResolver on the API server: (Cluster)TriggerAuthentications from informers, their
// Secrets' values read on demand and cached, and a change notice whenever either moves.
//
// Secrets are watched as PartialObjectMetadata (names and resourceVersions, no `data`): ebb
// learns that a Secret changed without ever holding the values of Secrets nobody references.
// Values are read with a GET when a resolve needs them and cached by resourceVersion; a cached
// value is served only while the watch still shows that resourceVersion. RBAC is unchanged
// (list/watch secrets, get secrets); memory and blast radius are not.
//
// Resolution rules (which source, which errors) are pure and live in
// src/api/triggerauthentication.ts; this file only feeds them. Values are never logged.
import { z } from 'zod';
import { AuthenticationError, fail, ok, type Result } from '../../api/reasons.ts';
import type { AuthenticationRef } from '../../api/scaledobject.ts';
import { GROUP, VERSION } from '../../api/scaledobject.ts';
import {
  type AuthenticationFailure,
  type AuthKind,
  type AuthParams,
  applyAuthPlan,
  authKindOf,
  CLUSTER_TRIGGER_AUTHENTICATION,
  CLUSTER_TRIGGER_AUTHENTICATION_PLURAL,
  DEFAULT_CLUSTER_OBJECT_NAMESPACE,
  describeAuth,
  parseAuthSpec,
  planTriggerAuth,
  referencedSecrets,
  type SecretRead,
  TRIGGER_AUTHENTICATION,
  TRIGGER_AUTHENTICATION_PLURAL,
} from '../../api/triggerauthentication.ts';
import type { Timer } from '../../clock.ts';
import type { Logger } from '../../logging.ts';
import type { TriggerAuthChangeListener, TriggerAuthResolver } from '../auth.ts';
import { KubeClient } from './client.ts';
import { ResilientInformer } from './informer.ts';
import type { KubernetesObject } from './object.ts';

export interface KubeTriggerAuthOptions {
  /** Watch TriggerAuthentications (and Secrets) in this namespace only; undefined: all. */
  readonly namespace?: string | undefined;
  /**
   * Where ClusterTriggerAuthentications read their Secrets (KEDA: KEDA_CLUSTER_OBJECT_NAMESPACE,
   * its own namespace). Default `ebb-system`.
   */
  readonly clusterNamespace?: string | undefined;
  /** false: do not watch ClusterTriggerAuthentications (no cluster-wide RBAC); refs to one fail. */
  readonly clusterTriggerAuthentications?: boolean;
  /** How long `resolve` waits for the first lists before failing; default 30 s. */
  readonly syncTimeoutMs?: number;
  readonly log: Logger;
}

const base = `/apis/${GROUP}/${VERSION}`;
const enc = encodeURIComponent;

export const triggerAuthenticationsPath = (namespace: string | undefined): string =>
  namespace === undefined
    ? `${base}/${TRIGGER_AUTHENTICATION_PLURAL}`
    : `${base}/namespaces/${enc(namespace)}/${TRIGGER_AUTHENTICATION_PLURAL}`;
export const clusterTriggerAuthenticationsPath = `${base}/${CLUSTER_TRIGGER_AUTHENTICATION_PLURAL}`;
const secretsPath = (namespace: string | undefined): string =>
  namespace === undefined ? '/api/v1/secrets' : `/api/v1/namespaces/${enc(namespace)}/secrets`;

const META_LIST = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';
const META_WATCH = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1';

/** The main client's transport (pool, credentials) and User-Agent, asking for metadata only. */
class MetadataClient extends KubeClient {
  constructor(private readonly main: KubeClient) {
    super(main.config, main.clock, { userAgent: main.userAgent }, main.transport);
  }

  override acceptFor(watch: boolean): string {
    return watch ? META_WATCH : META_LIST;
  }

  override count(verb: string): void {
    this.main.count(verb);
  }
}

/** A client that lists and watches PartialObjectMetadata; its requests count with `main`'s. */
export const metadataOnlyClient = (main: KubeClient): KubeClient => new MetadataClient(main);

const SecretSchema = z.object({
  metadata: z.object({ resourceVersion: z.string().optional() }).optional(),
  data: z.record(z.string(), z.string()).nullish(),
});

/** Secret `data` is base64; parameters are text (PEM, passwords, hosts). */
const decode = (data: Readonly<Record<string, string>>): AuthParams =>
  Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));

interface AuthEntry {
  readonly kind: AuthKind;
  /** '' for a ClusterTriggerAuthentication. */
  readonly namespace: string;
  readonly name: string;
  /** JSON of the spec: a change elsewhere (status, labels) is no change. */
  readonly spec: string;
  /** `namespace/name` of every Secret it reads. */
  readonly secrets: readonly string[];
}

interface CachedSecret {
  readonly resourceVersion: string;
  readonly data: AuthParams;
}

const authKey = (kind: AuthKind, namespace: string, name: string) => `${kind}/${namespace}/${name}`;
const secretKey = (namespace: string, name: string) => `${namespace}/${name}`;
const namesOf = (o: KubernetesObject) => ({
  namespace: o.metadata?.namespace ?? '',
  name: o.metadata?.name ?? '',
});
const failure = (message: string): { ok: false; error: AuthenticationFailure } =>
  fail({ reason: AuthenticationError, message });

export class KubeTriggerAuthResolver implements TriggerAuthResolver {
  private readonly clusterNamespace: string;
  private readonly syncTimeoutMs: number;
  private readonly triggerAuths: ResilientInformer;
  private readonly clusterTriggerAuths: ResilientInformer | undefined;
  /** Metadata-only Secret informers by namespace; key '' when one informer watches all namespaces. */
  private readonly secretWatches = new Map<string, ResilientInformer>();
  private readonly auths = new Map<string, AuthEntry>();
  /** `namespace/name` of a Secret → auth keys of those reading it. */
  private readonly readers = new Map<string, Set<string>>();
  private readonly values = new Map<string, CachedSecret>();
  private readonly inflight = new Map<string, Promise<SecretRead>>();
  private readonly listeners = new Set<TriggerAuthChangeListener>();
  private started: Promise<void> | undefined;

  constructor(
    private readonly client: KubeClient,
    private readonly opts: KubeTriggerAuthOptions,
  ) {
    this.clusterNamespace = opts.clusterNamespace ?? DEFAULT_CLUSTER_OBJECT_NAMESPACE;
    this.syncTimeoutMs = opts.syncTimeoutMs ?? 30_000;
    const log = opts.log;
    this.triggerAuths = new ResilientInformer(client, {
      path: triggerAuthenticationsPath(opts.namespace),
      log,
      handlers: this.authHandlers(TRIGGER_AUTHENTICATION),
    });
    if (opts.clusterTriggerAuthentications !== false) {
      this.clusterTriggerAuths = new ResilientInformer(client, {
        path: clusterTriggerAuthenticationsPath,
        log,
        handlers: this.authHandlers(CLUSTER_TRIGGER_AUTHENTICATION),
      });
    }
    const metadata = metadataOnlyClient(client);
    const watchSecrets = (namespace: string | undefined) =>
      new ResilientInformer(metadata, {
        path: secretsPath(namespace),
        log,
        handlers: {
          add: (o) => this.secretChanged(o, false),
          update: (o) => this.secretChanged(o, false),
          delete: (o) => this.secretChanged(o, true),
        },
      });
    if (opts.namespace === undefined) this.secretWatches.set('', watchSecrets(undefined));
    else {
      this.secretWatches.set(opts.namespace, watchSecrets(opts.namespace));
      if (this.clusterTriggerAuths !== undefined && this.clusterNamespace !== opts.namespace) {
        this.secretWatches.set(this.clusterNamespace, watchSecrets(this.clusterNamespace));
      }
    }
  }

  /** Starts every watch; resolves once each has listed (`resolve` also waits for that itself). */
  start(): Promise<void> {
    this.started ??= Promise.all(this.informers().map((i) => i.start())).then(() => undefined);
    return this.started;
  }

  async stop(): Promise<void> {
    await Promise.all(this.informers().map((i) => i.stop()));
    this.started = undefined;
    this.values.clear();
  }

  onChange(listener: TriggerAuthChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async resolve(
    namespace: string,
    ref: AuthenticationRef,
  ): Promise<Result<AuthParams, AuthenticationFailure>> {
    const kind = authKindOf(ref);
    const subject = describeAuth(kind, namespace, ref.name);
    const cluster = kind === CLUSTER_TRIGGER_AUTHENTICATION;
    const authInformer = cluster ? this.clusterTriggerAuths : this.triggerAuths;
    if (authInformer === undefined) {
      return failure(`${subject}: this controller does not watch ClusterTriggerAuthentications`);
    }
    if (!cluster && this.opts.namespace !== undefined && namespace !== this.opts.namespace) {
      return failure(`${subject}: this controller watches namespace ${this.opts.namespace} only`);
    }
    const secretNamespace = cluster ? this.clusterNamespace : namespace;
    const secrets = this.secretWatchFor(secretNamespace);
    const synced = await this.synced([authInformer, ...(secrets === undefined ? [] : [secrets])]);
    if (!synced) {
      return failure(
        `${subject}: ${cluster ? 'ClusterTriggerAuthentications' : 'TriggerAuthentications'} and Secrets ` +
          `are not listed yet after ${this.syncTimeoutMs / 1000} s (is the CRD installed, and may ebb list and watch them?)`,
      );
    }
    const object = cluster ? authInformer.get(ref.name) : authInformer.get(ref.name, namespace);
    const plan = planTriggerAuth(ref, namespace, object, this.clusterNamespace);
    if (!plan.ok) return plan;
    const names = [...new Set(plan.value.secretRefs.map((r) => r.name))];
    const reads = new Map<string, SecretRead>();
    await Promise.all(names.map(async (n) => reads.set(n, await this.readSecret(secretNamespace, n))));
    return applyAuthPlan(plan.value, (n) => reads.get(n) ?? ok(undefined));
  }

  /** Secrets with cached values (for tests and metrics; never their values). */
  cachedSecrets(): string[] {
    return [...this.values.keys()];
  }

  private informers(): ResilientInformer[] {
    return [
      this.triggerAuths,
      ...(this.clusterTriggerAuths === undefined ? [] : [this.clusterTriggerAuths]),
      ...this.secretWatches.values(),
    ];
  }

  private secretWatchFor(namespace: string): ResilientInformer | undefined {
    return this.secretWatches.get('') ?? this.secretWatches.get(namespace);
  }

  private async synced(informers: readonly ResilientInformer[]): Promise<boolean> {
    if (informers.every((i) => i.hasSynced)) return true;
    void this.start();
    const clock = this.client.clock;
    let timer: Timer | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = clock.after(this.syncTimeoutMs, () => resolve(false));
    });
    const all = Promise.all(informers.map((i) => i.synced())).then(() => true);
    try {
      return await Promise.race([all, timeout]);
    } finally {
      clock.cancel(timer);
    }
  }

  /**
   * The cached values while the watch shows the same resourceVersion; else one GET, shared by
   * every resolve asking for that Secret at that resourceVersion (a ClusterTriggerAuthentication
   * used by a thousand ScaledObjects is read once per rotation, not a thousand times).
   */
  private readSecret(namespace: string, name: string): Promise<SecretRead> {
    const key = secretKey(namespace, name);
    const seen = this.secretWatchFor(namespace)?.get(name, namespace)?.metadata?.resourceVersion;
    const cached = this.values.get(key);
    if (cached !== undefined && seen !== undefined && cached.resourceVersion === seen) {
      return Promise.resolve(ok(cached.data));
    }
    // Keyed by what the watch shows: a resolve that follows a change notice never joins a read
    // that started before the change.
    const flight = `${key}@${seen ?? ''}`;
    const pending = this.inflight.get(flight);
    if (pending !== undefined) return pending;
    const read = this.fetchSecret(namespace, name).finally(() => this.inflight.delete(flight));
    this.inflight.set(flight, read);
    return read;
  }

  private async fetchSecret(namespace: string, name: string): Promise<SecretRead> {
    const key = secretKey(namespace, name);
    const res = await this.client.request('GET', `${secretsPath(namespace)}/${enc(name)}`);
    if (!res.ok) return res.error.status === 404 ? ok(undefined) : fail(res.error.message);
    const secret = SecretSchema.safeParse(res.value);
    if (!secret.success) return fail('the API server returned something that is not a Secret');
    const data = decode(secret.data.data ?? {});
    const resourceVersion = secret.data.metadata?.resourceVersion;
    // Only Secrets someone still reads are kept (a TriggerAuthentication may have moved on meanwhile).
    if (resourceVersion !== undefined && (this.readers.get(key)?.size ?? 0) > 0) {
      this.values.set(key, { resourceVersion, data });
    }
    return ok(data);
  }

  private authHandlers(kind: AuthKind) {
    const changed = (o: KubernetesObject) => {
      const { namespace, name } = namesOf(o);
      const key = authKey(kind, namespace, name);
      const spec = JSON.stringify((o as { spec?: unknown }).spec ?? null);
      if (this.auths.get(key)?.spec === spec) return;
      const parsed = parseAuthSpec(o);
      const secretNamespace = kind === CLUSTER_TRIGGER_AUTHENTICATION ? this.clusterNamespace : namespace;
      const secrets = parsed.ok
        ? referencedSecrets(parsed.value).map((n) => secretKey(secretNamespace, n))
        : [];
      this.index(key, { kind, namespace, name, spec, secrets });
      this.notify(kind, namespace, name);
    };
    return {
      add: changed,
      update: changed,
      delete: (o: KubernetesObject) => {
        const { namespace, name } = namesOf(o);
        this.index(authKey(kind, namespace, name), undefined);
        this.notify(kind, namespace, name);
      },
    };
  }

  /** Replaces what `key` reads; Secrets nobody reads any more lose their cached values. */
  private index(key: string, entry: AuthEntry | undefined): void {
    for (const s of this.auths.get(key)?.secrets ?? []) {
      const readers = this.readers.get(s);
      readers?.delete(key);
      if (readers !== undefined && readers.size === 0) {
        this.readers.delete(s);
        this.values.delete(s);
      }
    }
    if (entry === undefined) {
      this.auths.delete(key);
      return;
    }
    this.auths.set(key, entry);
    for (const s of entry.secrets) {
      const readers = this.readers.get(s) ?? new Set<string>();
      readers.add(key);
      this.readers.set(s, readers);
    }
  }

  private secretChanged(o: KubernetesObject, deleted: boolean): void {
    const { namespace, name } = namesOf(o);
    const key = secretKey(namespace, name);
    const readers = this.readers.get(key);
    if (readers === undefined) return;
    const cached = this.values.get(key);
    if (deleted || cached?.resourceVersion !== o.metadata?.resourceVersion) this.values.delete(key);
    this.opts.log.debug(
      { secret: key, readers: readers.size },
      'a Secret read by trigger authentications changed',
    );
    for (const reader of [...readers]) {
      const entry = this.auths.get(reader);
      if (entry !== undefined) this.notify(entry.kind, entry.namespace, entry.name);
    }
  }

  private notify(kind: AuthKind, namespace: string, name: string): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(namespace, name, kind);
      } catch (err) {
        this.opts.log.error({ err, kind, namespace, name }, 'trigger authentication listener failed');
      }
    }
  }
}
