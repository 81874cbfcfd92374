// client-node's Watch, as client-go's reflector watches: bookmarks asked for, a server-side
// timeout the reflector's way, ebb's User-Agent, and an idle limit that a quiet resource no
// longer trips. client-node's own Watch aborts a watch that received nothing for 30 s, so every
// quiet collection (TriggerAuthentications, a Secret, EndpointSlices at night) was re-opened
// twice a minute; with bookmarks the server speaks at least once a minute and the watch lives
// until the server closes it, after which ListWatch resumes from the last resourceVersion seen
// (a bookmark's included): no re-list on a clean close, a re-list only after `410 Gone`.
import { type KubeConfig, type RequestContext, Watch } from '@kubernetes/client-node';
import type { KubeClient } from './client.ts';

/**
 * client-go's reflector: timeoutSeconds = minWatchTimeout × (1 + random), minWatchTimeout 5 min,
 * so watches of many controllers do not all end (and re-open) at once and re-balance across API
 * server replicas after a rolling upgrade. Without timeoutSeconds the server picks
 * --min-request-timeout × (1 + random) (30–60 min by default).
 */
export const MIN_WATCH_TIMEOUT_S = 300;

/**
 * The API server's watch cache sends a bookmark to a watcher that asked for them about once a
 * minute (cacher's bookmarkFrequency) and just before its timeout; three missed in a row means
 * the connection is dead (a half-open TCP connection sends no RST): abort and resume.
 */
export const WATCH_IDLE_MS = 3 * 60_000;

type Query = Record<string, string | number | boolean | undefined>;

export interface ClientWatchOptions {
  /** Fixed server-side timeout (tests); default MIN_WATCH_TIMEOUT_S × (1 + random). */
  readonly timeoutSeconds?: number;
}

export class ClientWatch extends Watch {
  constructor(
    client: KubeClient,
    private readonly opts: ClientWatchOptions = {},
  ) {
    super(client.kubeConfig);
    // Watch.watch reads the cluster and calls applySecurityAuthentication on `config`; this view
    // of the same kubeconfig adds the User-Agent (everything else is the kubeconfig's own).
    const config = Object.create(client.kubeConfig) as KubeConfig;
    config.applySecurityAuthentication = (ctx: RequestContext) => client.authenticate(ctx);
    this.config = config;
    // Private in the typings; the only knob for client-node's idle abort.
    (this as unknown as { requestTimeoutMs: number }).requestTimeoutMs = WATCH_IDLE_MS;
  }

  override watch(
    path: string,
    queryParams: Query,
    callback: Parameters<Watch['watch']>[2],
    done: Parameters<Watch['watch']>[3],
  ): Promise<AbortController> {
    const timeoutSeconds = this.opts.timeoutSeconds ?? Math.floor(MIN_WATCH_TIMEOUT_S * (1 + Math.random()));
    return super.watch(path, { ...queryParams, allowWatchBookmarks: true, timeoutSeconds }, callback, done);
  }
}
