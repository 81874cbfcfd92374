// List, then watch from the list's resourceVersion, keeping a cache by namespace and name
// (client-go's reflector + store; the behaviour of client-node's ListWatch, which ebb used before):
// - a watch the server closes resumes from the last resourceVersion seen (a bookmark's included),
//   after BASE_RECONNECT_DELAY_MS doubling to MAX_RECONNECT_DELAY_MS when watches keep closing
//   with no event between them; an idle-limit abort resumes at once;
// - `410 Gone` (as a status or an ERROR event) forgets the resourceVersion: the next round re-lists,
//   and objects missing from the new list are deleted from the cache (their `delete` handlers run);
// - any other error stops it and is handed to the `error` handlers (informer.ts restarts it).
// `add` and `update` handlers receive the object stored in the cache (trimming it trims the cache).
import type { Clock, Timer } from '../../clock.ts';
import type { KubernetesListObject, KubernetesObject } from './object.ts';
import type { ClientWatch } from './watch.ts';

export const BASE_RECONNECT_DELAY_MS = 1_000;
export const MAX_RECONNECT_DELAY_MS = 30_000;

type Handler = (obj: KubernetesObject) => void;
interface Handlers {
  add: Handler[];
  update: Handler[];
  delete: Handler[];
  connect: (() => void)[];
  error: ((err: unknown) => void)[];
}
type Err = (Error & { statusCode?: number }) | null;

const keyOf = (obj: KubernetesObject) => ({
  ns: obj.metadata?.namespace ?? '',
  name: obj.metadata?.name ?? '',
});

export class ListWatch {
  private objects = new Map<string, Map<string, KubernetesObject>>();
  private resourceVersion = '';
  private stopped = false;
  private hasConnected = false;
  private reconnectDelayMs = 0;
  private request: AbortController | undefined;
  private delayTimer: Timer | undefined;
  private readonly handlers: Handlers = { add: [], update: [], delete: [], connect: [], error: [] };

  constructor(
    private readonly path: string,
    private readonly watcher: ClientWatch,
    private readonly listFn: () => Promise<KubernetesListObject<KubernetesObject>>,
    private readonly clock: Clock,
    private readonly fieldSelector?: string,
  ) {}

  on<K extends keyof Handlers>(event: K, handler: Handlers[K][number]): void {
    (this.handlers[event] as Handlers[K][number][]).push(handler);
  }

  async start(): Promise<void> {
    this.stopped = false;
    this.reconnectDelayMs = 0;
    this.hasConnected = false;
    await this.round(null);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort();
    this.clock.cancel(this.delayTimer);
    this.delayTimer = undefined;
  }

  get(name: string, namespace?: string): KubernetesObject | undefined {
    return this.objects.get(namespace ?? '')?.get(name);
  }

  list(): KubernetesObject[] {
    const all: KubernetesObject[] = [];
    for (const byName of this.objects.values()) all.push(...byName.values());
    return all;
  }

  private abort(): void {
    this.request?.abort();
    this.request = undefined;
  }

  /** One round: after the previous watch ended with `err`, list if needed, then watch. */
  private async round(err: Err): Promise<void> {
    this.abort();
    if (err !== null && err.statusCode === 410) this.resourceVersion = '';
    else if (err !== null && err.name === 'TimeoutError') this.reconnectDelayMs = 0;
    else if (err !== null) {
      for (const h of [...this.handlers.error]) h(err);
      return;
    }
    if (this.stopped) return;
    for (const h of [...this.handlers.connect]) h();
    if (this.resourceVersion === '') {
      let list: KubernetesListObject<KubernetesObject>;
      try {
        list = await this.listFn();
      } catch (e) {
        for (const h of [...this.handlers.error]) h(e);
        return;
      }
      if (this.stopped) return;
      this.replace(list.items);
      this.resourceVersion = list.metadata?.resourceVersion ?? '';
    }
    if (this.reconnectDelayMs > 0 && this.hasConnected) {
      await new Promise<void>((resolve) => {
        this.delayTimer = this.clock.after(this.reconnectDelayMs, () => resolve());
      });
      this.delayTimer = undefined;
      if (this.stopped) return;
    }
    if (this.hasConnected)
      this.reconnectDelayMs = Math.min(
        this.reconnectDelayMs > 0 ? this.reconnectDelayMs * 2 : BASE_RECONNECT_DELAY_MS,
        MAX_RECONNECT_DELAY_MS,
      );
    this.hasConnected = true;
    const query = {
      resourceVersion: this.resourceVersion,
      ...(this.fieldSelector === undefined ? {} : { fieldSelector: this.fieldSelector }),
    };
    this.request = await this.watcher.watch(
      this.path,
      query,
      (type, obj) => this.event(type, obj),
      (e) => void this.round(e),
    );
    if (this.stopped) this.abort();
  }

  private event(type: string, raw: unknown): void {
    if (typeof raw !== 'object' || raw === null) return;
    const obj = raw as KubernetesObject & { code?: unknown };
    switch (type) {
      case 'ERROR':
        // A Status; 410: our resourceVersion is too old. The server closes the stream next.
        if (obj.code === 410) this.resourceVersion = '';
        return;
      case 'ADDED':
      case 'MODIFIED':
        this.store(obj);
        break;
      case 'DELETED':
        this.remove(obj);
        break;
      case 'BOOKMARK':
        break;
      default:
        return;
    }
    this.reconnectDelayMs = 0;
    this.resourceVersion = obj.metadata?.resourceVersion ?? '';
  }

  /** Stores `obj`: `add` when new, `update` when its resourceVersion changed. */
  private store(obj: KubernetesObject): void {
    const { ns, name } = keyOf(obj);
    let byName = this.objects.get(ns);
    if (byName === undefined) {
      byName = new Map();
      this.objects.set(ns, byName);
    }
    const found = byName.get(name);
    if (found === undefined) {
      byName.set(name, obj);
      for (const h of [...this.handlers.add]) h(obj);
    } else if (
      found.metadata?.resourceVersion === undefined ||
      found.metadata.resourceVersion !== obj.metadata?.resourceVersion
    ) {
      byName.set(name, obj);
      for (const h of [...this.handlers.update]) h(obj);
    }
  }

  private remove(obj: KubernetesObject): void {
    const { ns, name } = keyOf(obj);
    const byName = this.objects.get(ns);
    if (byName?.delete(name) !== true) return;
    if (byName.size === 0) this.objects.delete(ns);
    for (const h of [...this.handlers.delete]) h(obj);
  }

  /** After a (re-)list: objects the list no longer has are deleted, the rest stored. */
  private replace(items: readonly KubernetesObject[]): void {
    const listed = new Set(items.map((o) => `${keyOf(o).ns}/${keyOf(o).name}`));
    for (const [ns, byName] of this.objects)
      for (const [name, old] of byName)
        if (!listed.has(`${ns}/${name}`)) {
          byName.delete(name);
          if (byName.size === 0) this.objects.delete(ns);
          for (const h of [...this.handlers.delete]) h(old);
        }
    for (const item of items) this.store(item);
  }
}
