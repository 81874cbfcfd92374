// events.k8s.io/v1 Events, de-duplicated the way client-go's new event broadcaster does it
// (k8s.io/client-go/tools/events): the first occurrence creates an Event; the same type,
// reason and note about the same object again within `windowMs` (6 min) turns it into a
// series (count 2, written at once); later repeats only bump the count in memory, and the
// count is written every `refreshMs`. A flapping trigger thus costs one write per refresh,
// not one Event object per poll.
import { z } from 'zod';
import type { Timer } from '../../clock.ts';
import type { Logger } from '../../logging.ts';
import type { EventRecord, EventRecorder, EventRegarding } from '../ports.ts';
import { type KubeClient, MERGE_PATCH } from './client.ts';
import { InFlightLimit } from './rate-limit.ts';

export const REPORTING_CONTROLLER = 'ebb';
/** events.k8s.io/v1 refuses a longer note. */
const NOTE_LIMIT = 1024;
/**
 * Event writes in flight at once, and waiting beyond them. client-go's broadcaster writes from
 * one goroutine behind a queue of 1,000 and drops what does not fit (watch.DropIfChannelFull):
 * Events are best effort. Unbounded, a first round over 50,000 objects sent 22,000 Event
 * POSTs within seconds, each request in flight holding its body and buffers (the heap went
 * from 720 to 930 MB).
 */
export const MAX_EVENT_WRITES = 8;
export const MAX_QUEUED_EVENT_WRITES = 1000;

interface Series {
  readonly namespace: string;
  /** undefined until the create has returned. */
  name: string | undefined;
  count: number;
  writtenCount: number;
  lastObserved: number;
}

export interface KubeEventRecorderOptions {
  /** reportingInstance: this controller's identity (pod name / hostname). */
  readonly instance: string;
  readonly log: Logger;
  readonly windowMs?: number;
  readonly refreshMs?: number;
  readonly now?: () => number;
}

const CreatedSchema = z.object({ metadata: z.object({ name: z.string() }) });

export class KubeEventRecorder implements EventRecorder {
  private readonly series = new Map<string, Series>();
  /** Writes started or waiting for one of the MAX_EVENT_WRITES places (`writes`). */
  private readonly pending = new Set<Promise<void>>();
  private readonly writes = new InFlightLimit(MAX_EVENT_WRITES);
  /** Event writes dropped because the queue was full (best effort, as client-go). */
  dropped = 0;
  private readonly timer: Timer;
  private readonly now: () => number;
  private sequence = 0;

  constructor(
    private readonly client: KubeClient,
    private readonly opts: KubeEventRecorderOptions,
  ) {
    this.now = opts.now ?? (() => client.clock.wallNow());
    this.timer = client.clock.every(opts.refreshMs ?? 60_000, () => this.refresh());
    this.timer.unref();
  }

  record(regarding: EventRegarding, event: EventRecord): void {
    const now = this.now();
    const note = event.note.length > NOTE_LIMIT ? `${event.note.slice(0, NOTE_LIMIT - 3)}...` : event.note;
    const key = `${regarding.uid}\u0000${event.type}\u0000${event.reason}\u0000${note}`;
    const known = this.series.get(key);
    if (known !== undefined && now - known.lastObserved < (this.opts.windowMs ?? 360_000)) {
      known.count++;
      known.lastObserved = now;
      if (known.count === 2 && known.name !== undefined) this.send(() => this.writeSeries(known));
      return;
    }
    const s: Series = {
      namespace: regarding.namespace,
      name: undefined,
      count: 1,
      writtenCount: 1,
      lastObserved: now,
    };
    // A dropped create forgets its series: the next occurrence tries again.
    if (!this.send(() => this.create(regarding, { ...event, note }, s, now))) return;
    this.series.set(key, s);
  }

  async flush(): Promise<void> {
    this.refresh();
    // Writes queued behind others are in pending too: this waits for every one.
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  async close(): Promise<void> {
    this.client.clock.cancel(this.timer);
    await this.flush();
  }

  /** Writes counts that moved since the last write; forgets series that went quiet. */
  private refresh(): void {
    const now = this.now();
    const windowMs = this.opts.windowMs ?? 360_000;
    for (const [key, s] of this.series) {
      if (s.name !== undefined && s.count > s.writtenCount) this.send(() => this.writeSeries(s));
      else if (now - s.lastObserved >= windowMs) this.series.delete(key);
    }
  }

  /** Starts `write` now, or queues it behind MAX_EVENT_WRITES; false: dropped, the queue is full. */
  private send(write: () => Promise<void>): boolean {
    if (this.writes.queued >= MAX_QUEUED_EVENT_WRITES) {
      if (this.dropped++ % 1000 === 0)
        this.opts.log.warn({ dropped: this.dropped }, 'event writes queue full; dropping events');
      return false;
    }
    const p = this.run(write).finally(() => this.pending.delete(p));
    this.pending.add(p);
    return true;
  }

  private async run(write: () => Promise<void>): Promise<void> {
    const turn = this.writes.take();
    if (turn !== undefined) await turn;
    try {
      await write();
    } finally {
      this.writes.done();
    }
  }

  private async create(regarding: EventRegarding, event: EventRecord, s: Series, now: number): Promise<void> {
    const name = `${regarding.name.slice(0, 200)}.${now.toString(16)}${(this.sequence++ % 4096).toString(16)}`;
    const res = await this.client.request(
      'POST',
      `/apis/events.k8s.io/v1/namespaces/${regarding.namespace}/events`,
      {
        body: {
          apiVersion: 'events.k8s.io/v1',
          kind: 'Event',
          metadata: { name, namespace: regarding.namespace },
          eventTime: microTime(now),
          reportingController: REPORTING_CONTROLLER,
          reportingInstance: this.opts.instance.slice(0, 128),
          action: event.action,
          reason: event.reason,
          note: event.note,
          type: event.type,
          regarding: {
            apiVersion: regarding.apiVersion,
            kind: regarding.kind,
            namespace: regarding.namespace,
            name: regarding.name,
            uid: regarding.uid,
          },
        },
      },
    );
    if (!res.ok) {
      this.opts.log.warn({ reason: event.reason, err: res.error.message }, 'cannot record event');
      return;
    }
    const created = CreatedSchema.safeParse(res.value);
    s.name = created.success ? created.data.metadata.name : name;
    if (s.count >= 2) await this.writeSeries(s);
  }

  private async writeSeries(s: Series): Promise<void> {
    if (s.name === undefined) return;
    const count = s.count;
    const res = await this.client.request(
      'PATCH',
      `/apis/events.k8s.io/v1/namespaces/${s.namespace}/events/${s.name}`,
      {
        body: { series: { count, lastObservedTime: microTime(s.lastObserved) } },
        contentType: MERGE_PATCH,
      },
    );
    if (res.ok) s.writtenCount = Math.max(s.writtenCount, count);
    else this.opts.log.warn({ event: s.name, err: res.error.message }, 'cannot update event series');
  }
}

/** metav1.MicroTime: RFC 3339 with microseconds. */
const microTime = (ms: number): string => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
