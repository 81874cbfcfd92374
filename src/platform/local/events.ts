// Events in embedded mode are lines: `Warning ScalerFailed default/orders: <note>`. A repeat of
// the object's previous Event (same type, reason and note) is counted, not printed again, as
// an Event series would be.
import { type EventRecord, type EventRecorder, type EventRegarding, keyOf } from '../ports.ts';

export interface PrintedEvent extends EventRecord {
  /** `namespace/name` of the ScaledObject. */
  readonly object: string;
  /** How many times in a row it was recorded. */
  readonly count: number;
}

export class PrintedEventRecorder implements EventRecorder {
  private readonly last = new Map<string, { text: string; count: number }>();

  constructor(private readonly print: (event: PrintedEvent) => void) {}

  record(regarding: EventRegarding, event: EventRecord): void {
    const object = keyOf(regarding);
    const text = `${event.type}|${event.reason}|${event.note}`;
    const last = this.last.get(object);
    if (last?.text === text) {
      last.count++;
      return;
    }
    this.last.set(object, { text, count: 1 });
    this.print({ ...event, object, count: 1 });
  }

  async flush(): Promise<void> {}
}

/** `Warning ScalerFailed default/orders: note` */
export const eventLine = (e: PrintedEvent): string => `${e.type} ${e.reason} ${e.object}: ${e.note}`;
