// One watch request, as client-go's reflector watches: `?watch=true` with bookmarks asked for, a
// server-side timeout the reflector's way, ebb's User-Agent, and an idle limit a quiet resource
// does not trip. The body is newline-delimited JSON watch events ({type, object}), read as it
// streams. (client-node's Watch aborted a watch that received nothing for 30 s, so every quiet
// collection was re-opened twice a minute; with bookmarks the server speaks at least once a
// minute and the watch lives until the server closes it.) `done` is called once: null when the
// server closed the stream, else the error (`statusCode` set for an HTTP status, `name`
// TimeoutError for the idle limit); list-watch.ts resumes or re-lists from there.
import { STATUS_CODES } from 'node:http';
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

/** A watch line longer than this is refused (the API server's own request limit is 3 MiB). */
const MAX_LINE_BYTES = 16 << 20;

export type WatchCallback = (type: string, object: unknown) => void;
export type WatchDone = (err: (Error & { statusCode?: number }) | null) => void;

export interface ClientWatchOptions {
  /** Fixed server-side timeout (tests); default MIN_WATCH_TIMEOUT_S × (1 + random). */
  readonly timeoutSeconds?: number;
  /** Idle limit (tests); default WATCH_IDLE_MS. */
  readonly idleMs?: number;
}

export class ClientWatch {
  constructor(
    private readonly client: KubeClient,
    private readonly opts: ClientWatchOptions = {},
  ) {}

  /** Opens the watch; the returned controller aborts it (then `done` is not called). */
  async watch(
    path: string,
    query: Readonly<Record<string, string | undefined>>,
    callback: WatchCallback,
    done: WatchDone,
  ): Promise<AbortController> {
    const timeoutSeconds = this.opts.timeoutSeconds ?? Math.floor(MIN_WATCH_TIMEOUT_S * (1 + Math.random()));
    const params = new URLSearchParams({ watch: 'true' });
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') params.set(k, v);
    params.set('allowWatchBookmarks', 'true');
    params.set('timeoutSeconds', String(timeoutSeconds));
    const controller = new AbortController();
    const clock = this.client.clock;
    let timedOut = false;
    let finished = false;
    const idleMs = this.opts.idleMs ?? WATCH_IDLE_MS;
    let timer = clock.after(idleMs, () => onIdle());
    timer.unref();
    const onIdle = () => {
      timedOut = true;
      controller.abort();
    };
    const resetTimer = () => {
      clock.cancel(timer);
      timer = clock.after(idleMs, onIdle);
      timer.unref();
    };
    const finish = (err: (Error & { statusCode?: number }) | null) => {
      if (finished) return;
      finished = true;
      clock.cancel(timer);
      if (timedOut) {
        const timeout = new Error('the watch was idle too long');
        timeout.name = 'TimeoutError';
        done(timeout);
      } else if (controller.signal.aborted)
        return; // stopped by the owner
      else done(err);
    };
    void this.stream(`${this.client.server}${path}?${params}`, controller, callback, resetTimer).then(
      () => finish(null),
      (err: unknown) => finish(err instanceof Error ? err : new Error(String(err))),
    );
    return controller;
  }

  private async stream(
    url: string,
    controller: AbortController,
    callback: WatchCallback,
    onData: () => void,
  ): Promise<void> {
    const response = await this.client.fetch(url, 'GET', { signal: controller.signal, watch: true });
    if (response.status !== 200) {
      await response.body?.cancel().catch(() => {});
      const error: Error & { statusCode?: number } = new Error(
        `watch ${response.status} ${STATUS_CODES[response.status] ?? ''}`.trim(),
      );
      error.statusCode = response.status;
      throw error;
    }
    onData();
    if (response.body === null) return;
    const decoder = new TextDecoder();
    let buffered = '';
    for await (const chunk of response.body) {
      onData();
      buffered += decoder.decode(chunk, { stream: true });
      // One pass over the chunk: each complete line delivered, the rest kept for the next chunk.
      let start = 0;
      let newline = buffered.indexOf('\n');
      while (newline !== -1) {
        deliver(buffered.slice(start, newline), callback);
        start = newline + 1;
        newline = buffered.indexOf('\n', start);
      }
      buffered = buffered.slice(start);
      if (buffered.length > MAX_LINE_BYTES) throw new Error(`a watch event over ${MAX_LINE_BYTES} bytes`);
    }
    deliver(buffered + decoder.decode(), callback);
  }
}

/** One line: a watch event; what does not parse is skipped (as client-node did). */
const deliver = (line: string, callback: WatchCallback): void => {
  if (line.trim() === '') return;
  let event: unknown;
  try {
    event = JSON.parse(line);
  } catch {
    return;
  }
  if (typeof event !== 'object' || event === null) return;
  const { type, object } = event as { type?: unknown; object?: unknown };
  if (typeof type === 'string') callback(type, object);
};
