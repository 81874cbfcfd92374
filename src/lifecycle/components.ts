// The lifecycle of a long-running command as a list of components (controller-runtime's
// `Manager.Add(Runnable)` with `NeedLeaderElection()`): `ebb run`, both shapes of `ebb activator`
// and `ebb local` list theirs; this module starts them and stops them.
//
// Rules:
// - components start one after another in list order; they stop in the reverse order;
// - a start that fails stops the ones already started (reverse order) and rethrows; a
//   component whose own start throws cleans up after itself;
// - `needsLeader` components run only while this process holds the lease: acquire → start them
//   in order; lose → stop them in reverse; a failed acquire start rolls them back and is logged;
// - transitions run one at a time, outside the elector's renew loop (a slow first list must not
//   starve renewals), except on stop: the leader components stop before the lease is released
//   (the elector awaits `onStoppedLeading` before its release), and the others after it;
// - stop while starting: the start's signal aborts, no further component starts, and the ones
//   running stop as above.
// Without an elector every component starts in list order, as if this process always led.
import type { Logger } from '../logging.ts';
import { serialQueue } from './serial.ts';

export interface Component {
  /** For logs and errors. */
  readonly name: string;
  /** Runs only while this process leads (polls, writes, the adapter Service's endpoint). */
  readonly needsLeader?: boolean;
  /** Resolves once running; `signal` aborts when a stop is asked for meanwhile. */
  start(signal: AbortSignal): Promise<void> | void;
  stop(): Promise<void> | void;
}

/** What the manager needs of a leader elector (src/controller/leader-election.ts). */
export interface Elector {
  readonly isLeader: boolean;
  start(): void;
  /** Calls `onStoppedLeading` (awaited) while leading, then releases the lease. */
  stop(): Promise<void>;
}

export interface LeadershipCallbacks {
  onStartedLeading(): void;
  /** A promise only during a stop: the elector awaits it before releasing the lease. */
  onStoppedLeading(): Promise<void> | undefined;
}

export interface ComponentsOptions {
  readonly log: Logger;
  /** Builds the elector that drives the `needsLeader` components; undefined: always leading. */
  readonly elect?: (callbacks: LeadershipCallbacks) => Elector;
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export class Components {
  private readonly all: readonly Component[];
  private readonly always: readonly Component[];
  private readonly leaderOnly: readonly Component[];
  private readonly abort = new AbortController();
  private readonly transitions;
  private running = new AsyncDisposableStack();
  private leading: AsyncDisposableStack | undefined;
  private elector: Elector | undefined;
  private started: Promise<void> | undefined;
  private stopped: Promise<void> | undefined;

  constructor(
    components: readonly Component[],
    private readonly opts: ComponentsOptions,
  ) {
    this.all = components;
    this.always = components.filter((c) => c.needsLeader !== true);
    this.leaderOnly = components.filter((c) => c.needsLeader === true);
    this.transitions = serialQueue((err) =>
      opts.log.error({ err: message(err) }, 'leadership transition failed'),
    );
  }

  /** True while the leader components may run: always without an elector, else the lease's word. */
  get isLeader(): boolean {
    return this.opts.elect === undefined || this.elector?.isLeader === true;
  }

  /** Resolves once the components that need no lease run (and, without an elector, the others). */
  start(): Promise<void> {
    this.started ??= this.startAll();
    return this.started;
  }

  /** Resolves once the leadership transitions asked for so far have run. */
  settled(): Promise<void> {
    return this.transitions.run(() => undefined);
  }

  /** Idempotent; see the rules above. */
  stop(): Promise<void> {
    this.stopped ??= this.stopAll();
    return this.stopped;
  }

  private async startAll(): Promise<void> {
    const startNow = this.opts.elect === undefined ? this.all : this.always;
    this.running = await this.startInOrder(startNow);
    if (this.opts.elect === undefined || this.abort.signal.aborted) return;
    this.elector = this.opts.elect({
      onStartedLeading: () => void this.transitions.run(() => this.lead()),
      onStoppedLeading: () => {
        const followed = this.transitions.run(() => this.follow());
        return this.abort.signal.aborted ? followed : undefined;
      },
    });
    this.elector.start();
  }

  private async lead(): Promise<void> {
    if (this.abort.signal.aborted) return;
    this.leading = await this.startInOrder(this.leaderOnly);
  }

  private async follow(): Promise<void> {
    const leading = this.leading;
    this.leading = undefined;
    await leading?.disposeAsync();
  }

  private async stopAll(): Promise<void> {
    this.abort.abort();
    // A start still running finishes (or rolls back) first; its failure is the starter's to see.
    await this.started?.catch(() => undefined);
    await this.elector?.stop();
    await this.transitions.run(() => this.follow());
    await this.running.disposeAsync();
  }

  /**
   * Starts `components` in order into a stack that stops them in reverse; stops early when
   * stopping. On a failed start the started ones stop (their errors logged) and the start's
   * error propagates unchanged (the commands print its message as it is).
   */
  private async startInOrder(components: readonly Component[]): Promise<AsyncDisposableStack> {
    const stack = new AsyncDisposableStack();
    try {
      for (const c of components) {
        if (this.abort.signal.aborted) break;
        await c.start(this.abort.signal);
        stack.defer(async () => {
          await c.stop();
        });
      }
    } catch (err) {
      await stack.disposeAsync().catch((stopErr: unknown) => {
        this.opts.log.error({ err: message(stopErr) }, 'stopping after a failed start failed');
      });
      throw err;
    }
    return stack;
  }
}
