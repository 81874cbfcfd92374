// What the activator saw go wrong with one backend while requests waited for it, so that a hold
// timeout can say so instead of "no endpoint had capacity". The activator knows two things:
//   - endpoints that left the ready set while requests waited: the EndpointSlice marked them not
//     ready or terminating, or dropped them (a crashed container fails its readiness probe; the
//     kubelet restarts it and it comes back ready: a crash loop flaps the endpoint);
//   - connections refused by a ready endpoint (its process is gone, the slice not yet updated).
// What it cannot know: restart counts and exit codes (they are in the Pod's status, not the
// slice), nor whether an endpoint that never became ready is starting or crashing: that case is
// "no endpoint became ready". The record covers one episode: it is cleared when an endpoint of
// the backend answers (proxy.ts: a response head) and when the last waiting request leaves
// without being forwarded (hold-queue.ts: timeout, abort, rejection), so an old flap never
// colours a later, ordinary timeout. Counted on the rare paths only (a refusal, a ready-set
// change); per response one check of two counters.

export class BackendTrouble {
  /** Times an endpoint left the ready set while requests waited. */
  unready = 0;
  /** Connections a ready endpoint refused (or a host that could not be reached). */
  refused = 0;
  /** The last upstream error of a refusal, e.g. `ECONNREFUSED from 10.1.2.3:8080`. */
  last = '';
  /** The distinct endpoints that left the ready set (allocated on the first). */
  private endpoints: Set<string> | undefined;

  get seen(): boolean {
    return this.unready > 0 || this.refused > 0;
  }

  becameUnready(endpointId: string): void {
    this.unready++;
    this.endpoints ??= new Set();
    this.endpoints.add(endpointId);
  }

  connectRefused(error: string): void {
    this.refused++;
    this.last = error;
  }

  clear(): void {
    if (this.unready === 0 && this.refused === 0) return; // the common case: one compare per response
    this.unready = this.refused = 0;
    this.last = '';
    this.endpoints = undefined;
  }

  /** `1 endpoint became unready 3 times, 3 connections refused (last: ECONNREFUSED from …)`. */
  describe(): string {
    const parts: string[] = [];
    if (this.unready > 0) {
      const n = this.endpoints?.size ?? 0;
      parts.push(`${plural(n, 'endpoint')} became unready ${plural(this.unready, 'time')}`);
    }
    if (this.refused > 0) parts.push(`${plural(this.refused, 'connection')} refused`);
    return parts.join(', ') + (this.last === '' ? '' : ` (last: ${this.last})`);
  }
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
