// The components layer (src/lifecycle/components.ts): order, rollback, and every leadership
// transition, driven by a scripted elector (and once by the real LeaderElector on a fake lease).
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { LeaderElector } from '../../src/controller/leader-election.ts';
import {
  type Component,
  Components,
  type Elector,
  type LeadershipCallbacks,
} from '../../src/lifecycle/components.ts';
import { FakeLease } from '../controller/fakes.ts';

/** Leadership moved by the test: `acquire()` and `lose()` as the renew loop would. */
class ScriptedElector implements Elector {
  isLeader = false;
  constructor(
    private readonly on: LeadershipCallbacks,
    private readonly events: string[],
  ) {}
  start(): void {
    this.events.push('elector start');
  }
  acquire(): void {
    this.isLeader = true;
    this.on.onStartedLeading();
  }
  lose(): void {
    this.isLeader = false;
    this.on.onStoppedLeading();
  }
  async stop(): Promise<void> {
    if (this.isLeader) {
      this.isLeader = false;
      await this.on.onStoppedLeading();
    }
    this.events.push('release');
  }
}

interface Setup {
  readonly events: string[];
  readonly errors: string[];
  readonly components: Components;
  elector(): ScriptedElector;
}

const recordingLog = (errors: string[]) =>
  pino({ level: 'error' }, { write: (line: string) => errors.push(JSON.parse(line).msg as string) });

const component = (
  events: string[],
  name: string,
  opts: { needsLeader?: boolean; fail?: boolean; gate?: Promise<void>; signals?: AbortSignal[] } = {},
): Component => ({
  name,
  ...(opts.needsLeader === true ? { needsLeader: true } : {}),
  async start(signal) {
    events.push(`start ${name}`);
    opts.signals?.push(signal);
    await opts.gate;
    if (opts.fail === true) throw new Error(`${name} cannot start`);
  },
  stop() {
    events.push(`stop ${name}`);
  },
});

/** A Components over `make`'s list, recording into `events`; `elected`: with a ScriptedElector. */
const setup = (make: (events: string[]) => Component[], elected = true): Setup => {
  const events: string[] = [];
  const errors: string[] = [];
  let scripted: ScriptedElector | undefined;
  const components = new Components(make(events), {
    log: recordingLog(errors),
    ...(elected
      ? {
          elect: (on: LeadershipCallbacks) => {
            scripted = new ScriptedElector(on, events);
            return scripted;
          },
        }
      : {}),
  });
  return {
    events,
    errors,
    components,
    elector: () => {
      if (scripted === undefined) throw new Error('no elector was built');
      return scripted;
    },
  };
};

const four = (events: string[]) => [
  component(events, 'a'),
  component(events, 'L1', { needsLeader: true }),
  component(events, 'b'),
  component(events, 'L2', { needsLeader: true }),
];

describe('Components without an elector', () => {
  it('starts every component in list order and stops them in reverse', async () => {
    const { events, components } = setup(four, false);
    await components.start();
    expect(components.isLeader).toBe(true);
    expect(events).toEqual(['start a', 'start L1', 'start b', 'start L2']);
    await components.stop();
    expect(events.slice(4)).toEqual(['stop L2', 'stop b', 'stop L1', 'stop a']);
    await components.stop(); // idempotent: nothing stops twice
    expect(events).toHaveLength(8);
  });

  it('a failed start stops the started ones in reverse and rethrows; later ones never start', async () => {
    const { events, components } = setup(
      (e) => [component(e, 'a'), component(e, 'b'), component(e, 'c', { fail: true }), component(e, 'd')],
      false,
    );
    await expect(components.start()).rejects.toThrow('c cannot start');
    expect(events).toEqual(['start a', 'start b', 'start c', 'stop b', 'stop a']);
  });
});

describe('Components with leadership', () => {
  it('acquire: the leader components start in order, only after the lease is held', async () => {
    const { events, components, elector } = setup(four);
    await components.start();
    expect(events).toEqual(['start a', 'start b', 'elector start']);
    expect(components.isLeader).toBe(false);
    elector().acquire();
    await components.settled();
    expect(components.isLeader).toBe(true);
    expect(events.slice(3)).toEqual(['start L1', 'start L2']);
  });

  it('lose: the leader components stop in reverse; the others keep running', async () => {
    const { events, components, elector } = setup(four);
    await components.start();
    elector().acquire();
    elector().lose();
    await components.settled();
    expect(events.slice(3)).toEqual(['start L1', 'start L2', 'stop L2', 'stop L1']);
    expect(components.isLeader).toBe(false);
  });

  it('re-acquire: the leader components start again', async () => {
    const { events, components, elector } = setup(four);
    await components.start();
    elector().acquire();
    elector().lose();
    elector().acquire();
    await components.settled();
    expect(events.slice(3)).toEqual(['start L1', 'start L2', 'stop L2', 'stop L1', 'start L1', 'start L2']);
  });

  it('stop while leading: leader components stop, then the lease is released, then the rest', async () => {
    const { events, components, elector } = setup(four);
    await components.start();
    elector().acquire();
    await components.settled();
    await components.stop();
    expect(events.slice(5)).toEqual(['stop L2', 'stop L1', 'release', 'stop b', 'stop a']);
  });

  it('stop as a standby: the lease is released (a no-op) and the rest stop', async () => {
    const { events, components } = setup(four);
    await components.start();
    await components.stop();
    expect(events.slice(3)).toEqual(['release', 'stop b', 'stop a']);
  });

  it('stop while the leader components start: the signal aborts, the rest never start, all stop', async () => {
    let open = () => {};
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const signals: AbortSignal[] = [];
    const { events, components, elector } = setup((e) => [
      component(e, 'a'),
      component(e, 'L1', { needsLeader: true, gate, signals }),
      component(e, 'L2', { needsLeader: true }),
    ]);
    await components.start();
    elector().acquire();
    await Promise.resolve();
    const stopped = components.stop();
    await Promise.resolve();
    expect(signals.map((s) => s.aborted)).toEqual([true]);
    open();
    await stopped;
    expect(events).toEqual(['start a', 'elector start', 'start L1', 'stop L1', 'release', 'stop a']);
  });

  it('a leader component failing to start rolls back the ones started, logs, and stays a candidate', async () => {
    let fail = true;
    const { events, errors, components, elector } = setup((e) => [
      component(e, 'a'),
      component(e, 'L1', { needsLeader: true }),
      {
        name: 'L2',
        needsLeader: true,
        start: () => {
          e.push('start L2');
          if (fail) throw new Error('L2 cannot start');
        },
        stop: () => {
          e.push('stop L2');
        },
      },
      component(e, 'L3', { needsLeader: true }),
    ]);
    await components.start();
    elector().acquire();
    await components.settled();
    expect(events.slice(2)).toEqual(['start L1', 'start L2', 'stop L1']);
    expect(errors).toEqual(['leadership transition failed']);
    // Losing with nothing running stops nothing; the next acquire starts all of them.
    elector().lose();
    fail = false;
    elector().acquire();
    await components.settled();
    expect(events.slice(5)).toEqual(['start L1', 'start L2', 'start L3']);
    await components.stop();
    expect(events.slice(8)).toEqual(['stop L3', 'stop L2', 'stop L1', 'release', 'stop a']);
  });
});

describe('Components with the real LeaderElector', () => {
  it('releases the lease only after the leader components stopped', async () => {
    const lock = new FakeLease();
    const holderAtStop: string[] = [];
    let started = () => {};
    const leading = new Promise<void>((resolve) => {
      started = resolve;
    });
    const components = new Components(
      [
        {
          name: 'controller',
          needsLeader: true,
          start: () => started(),
          // A stop that takes a while (a controller finishing its polls): the lease must wait.
          stop: async () => {
            await new Promise((resolve) => setTimeout(resolve, 20));
            holderAtStop.push(lock.lease?.record.holderIdentity ?? 'none');
          },
        },
      ],
      {
        log: recordingLog([]),
        elect: (on) =>
          new LeaderElector({
            lock,
            identity: 'me',
            log: recordingLog([]),
            leaseDurationMs: 60_000,
            renewDeadlineMs: 40_000,
            retryPeriodMs: 20_000,
            ...on,
          }),
      },
    );
    await components.start();
    await leading;
    expect(components.isLeader).toBe(true);
    await components.stop();
    expect(holderAtStop).toEqual(['me']);
    expect(lock.lease?.record.holderIdentity).toBe('');
  });
});
