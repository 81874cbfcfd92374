// An informer (list + watch + cache, list-watch.ts) that survives watch errors and API-server
// restarts. ListWatch re-watches by itself after a clean close and re-lists after `410 Gone`,
// but after an error (connection refused, reset) it emits `error` and stops;
// we start it again with exponential backoff. Restarting the same instance keeps its cache and
// resourceVersion, so the resumed watch (or the re-list after 410) delivers every change missed
// meanwhile, deletions included.
import { z } from 'zod';
import type { Timer } from '../../clock.ts';
import type { Logger } from '../../logging.ts';
import type { KubeClient } from './client.ts';
import { errorMessage } from './client.ts';
import { ListWatch } from './list-watch.ts';
import type { KubernetesListObject, KubernetesObject } from './object.ts';
import { ClientWatch } from './watch.ts';

export interface InformerHandlers {
  add(obj: KubernetesObject): void;
  update(obj: KubernetesObject): void;
  delete(obj: KubernetesObject): void;
}

export interface InformerOptions {
  /** Collection path, e.g. `/apis/apps/v1/deployments` or `/apis/apps/v1/namespaces/x/deployments`. */
  readonly path: string;
  readonly handlers: InformerHandlers;
  readonly log: Logger;
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** Items per list page (keeps the list's peak memory bounded). */
  readonly pageSize?: number;
  /**
   * Trims an object in place before anything reads it from the cache (client-go's
   * SetTransform): caches of 10,000 objects are mostly managedFields and pod templates.
   */
  readonly transform?: (obj: KubernetesObject) => void;
  /** Lists and watches only what it selects, e.g. `metadata.name=x`: one named Secret, which an
   * RBAC rule with resourceNames allows (a list of the whole collection would be forbidden). */
  readonly fieldSelector?: string;
  /** Server-side watch timeout (tests); default client-go's 5–10 min (see watch.ts). */
  readonly watchTimeoutSeconds?: number;
}

/** The fields no controller of ebb's reads: managedFields and kubectl's last-applied copy. */
export const dropBookkeeping = (obj: KubernetesObject): void => {
  const meta = obj.metadata as { managedFields?: unknown; annotations?: Record<string, string> } | undefined;
  if (meta === undefined) return;
  delete meta.managedFields;
  if (meta.annotations !== undefined)
    delete meta.annotations['kubectl.kubernetes.io/last-applied-configuration'];
};

const ObjectSchema = z.looseObject({
  metadata: z.looseObject({
    name: z.string(),
    namespace: z.string().optional(),
    resourceVersion: z.string().optional(),
  }),
});
const ListSchema = z.object({
  metadata: z.object({ resourceVersion: z.string().optional(), continue: z.string().optional() }).optional(),
  items: z.array(z.unknown()).nullish(),
});

export class ResilientInformer {
  private readonly informer;
  private stopped = true;
  private backoffMs: number;
  private restartTimer: Timer | undefined;
  private syncedOnce = false;
  private readonly waiters: (() => void)[] = [];

  constructor(
    private readonly client: KubeClient,
    private readonly opts: InformerOptions,
  ) {
    this.backoffMs = opts.initialBackoffMs ?? 500;
    this.informer = new ListWatch(
      opts.path,
      new ClientWatch(
        client,
        opts.watchTimeoutSeconds === undefined ? {} : { timeoutSeconds: opts.watchTimeoutSeconds },
      ),
      () => this.listPages(),
      client.clock,
      opts.fieldSelector,
    );
    // ListWatch stores the object, then calls these with that same object: trimming here
    // trims the cache. (Listed objects are trimmed in listPages before they are stored.)
    const transform = opts.transform ?? dropBookkeeping;
    this.informer.on('add', (o: KubernetesObject) => {
      this.backoffMs = this.opts.initialBackoffMs ?? 500;
      transform(o);
      opts.handlers.add(o);
    });
    this.informer.on('update', (o: KubernetesObject) => {
      transform(o);
      opts.handlers.update(o);
    });
    this.informer.on('delete', (o: KubernetesObject) => opts.handlers.delete(o));
    this.informer.on('connect', () => {
      this.client.count('WATCH');
      opts.log.debug({ path: opts.path }, 'watch opening');
    });
    this.informer.on('error', (err: unknown) => this.onError(err));
  }

  /** Starts and resolves once the first list is in the cache (retrying until it is). */
  start(): Promise<void> {
    this.stopped = false;
    const synced = this.synced();
    void this.informer.start();
    return synced;
  }

  /** Resolves once the first list has been cached. */
  synced(): Promise<void> {
    if (this.syncedOnce) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  get hasSynced(): boolean {
    return this.syncedOnce;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.client.clock.cancel(this.restartTimer);
    this.restartTimer = undefined;
    await this.informer.stop();
  }

  get(name: string, namespace?: string): KubernetesObject | undefined {
    return this.informer.get(name, namespace);
  }

  private async listPages(): Promise<KubernetesListObject<KubernetesObject>> {
    const items: KubernetesObject[] = [];
    let resourceVersion = '';
    let cont: string | undefined;
    do {
      const query: Record<string, string> = { limit: String(this.opts.pageSize ?? 500) };
      if (cont !== undefined) query.continue = cont;
      if (this.opts.fieldSelector !== undefined) query.fieldSelector = this.opts.fieldSelector;
      const res = await this.client.request('GET', this.opts.path, { query, timeoutMs: 60_000 });
      // ListWatch catches what we throw and emits `error`; that is how we get restarted.
      if (!res.ok) throw new Error(res.error.message);
      const page = ListSchema.parse(res.value);
      for (const raw of page.items ?? []) {
        const obj = ObjectSchema.safeParse(raw);
        if (obj.success) {
          const item = obj.data as KubernetesObject;
          (this.opts.transform ?? dropBookkeeping)(item);
          items.push(item);
        }
      }
      resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
      cont = page.metadata?.continue || undefined;
    } while (cont !== undefined);
    this.backoffMs = this.opts.initialBackoffMs ?? 500;
    // ListWatch fills its cache right after this promise settles; tell waiters after that.
    setImmediate(() => this.markSynced());
    return { metadata: { resourceVersion }, items };
  }

  cached(): readonly KubernetesObject[] {
    return this.informer.list();
  }

  private markSynced(): void {
    this.syncedOnce = true;
    for (const w of this.waiters.splice(0)) w();
  }

  private onError(err: unknown): void {
    if (this.stopped || this.restartTimer !== undefined) return;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.opts.maxBackoffMs ?? 30_000);
    this.opts.log.warn({ path: this.opts.path, err: errorMessage(err), retryInMs: delay }, 'watch failed');
    this.restartTimer = this.client.clock.after(delay, () => {
      this.restartTimer = undefined;
      if (!this.stopped) void this.informer.start();
    });
    this.restartTimer.unref();
  }
}
