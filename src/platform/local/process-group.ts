// One LocalApp's replicas: processes on 127.0.0.1, each the leader of its own process group.
//
//   scale up    free port → spawn (own process group, `detached`) → poll readiness → ready
//   crash       exit while not stopping → SIGKILL what is left of its group → wait
//               backoff = min(base × 2^(restarts-1), max) → start again (restarts reset once a
//               replica stayed ready for resetBackoffAfterMs); not ready within the startup
//               timeout counts as a crash
//   scale down  SIGTERM to the group → SIGKILL after the grace period; once the leader has
//               exited, anything left of its group is SIGKILLed (nothing is left behind)
//
// Only ready replicas are endpoints: the activator holds requests until one is.
import { type ChildProcess, spawn } from 'node:child_process';
import type { Endpoint } from '../../activator/ports.ts';
import { type Clock, realClock, type Timer } from '../../clock.ts';
import { keyOf } from '../ports.ts';
import type { LocalApp } from './file.ts';
import { freePort, LOCALHOST, probeHttp, probeTcp, signalGroup } from './probes.ts';

export type ReplicaPhase = 'starting' | 'ready' | 'stopping' | 'backoff';

export interface ReplicaView {
  /** `<app>-<index>`. */
  readonly name: string;
  readonly phase: ReplicaPhase;
  readonly port: number | undefined;
  readonly pid: number | undefined;
  /** Crashes since the replica last stayed ready long enough. */
  readonly restarts: number;
}

/** What happened to a replica, for the one-line-per-change output. */
export type SupervisorEvent =
  | {
      readonly type: 'started';
      readonly app: string;
      readonly replica: string;
      readonly pid: number;
      readonly port: number;
    }
  | { readonly type: 'ready'; readonly app: string; readonly replica: string; readonly afterMs: number }
  | {
      readonly type: 'crashed';
      readonly app: string;
      readonly replica: string;
      /** `exit code 1`, `signal SIGSEGV`, `spawn node: ENOENT`, `not ready within 60 s`. */
      readonly why: string;
      readonly restarts: number;
      readonly backoffMs: number;
      /** The last lines the process wrote to stderr. */
      readonly stderrTail: readonly string[];
    }
  | { readonly type: 'stopped'; readonly app: string; readonly replica: string; readonly killed: boolean };

export interface SupervisorOptions {
  /** First restart delay after a crash; default 1000 ms. */
  readonly baseBackoffMs?: number;
  /** Restart delays stop doubling here; default 30 s. */
  readonly maxBackoffMs?: number;
  /** A replica ready this long has its restart count reset; default 10 s. */
  readonly resetBackoffAfterMs?: number;
  /** Readiness probe period; default 100 ms (a cold start waits for it). */
  readonly readinessIntervalMs?: number;
  readonly onEvent?: (event: SupervisorEvent) => void;
  /** Every line a replica writes; default: dropped (stderr's tail is kept for crash reports). */
  readonly onOutput?: (replica: string, stream: 'stdout' | 'stderr', line: string) => void;
  /** Told of every process group started and gone (the Reaper: nothing outlives a SIGKILLed ebb). */
  readonly guard?: ProcessGuard;
  /** Restart backoff, readiness probes, startup timeouts and grace periods; default realClock. */
  readonly clock?: Clock;
}

/** Keeps the process groups that are alive; see reaper.ts. */
export interface ProcessGuard {
  track(pid: number): void;
  untrack(pid: number): void;
}

const STDERR_TAIL = 5;

class Replica {
  phase: ReplicaPhase = 'starting';
  port: number | undefined;
  child: ChildProcess | undefined;
  restarts = 0;
  startedAt = 0;
  readySince: number | undefined;
  /** Scaled away before its process existed (while the port was being picked). */
  removed = false;
  timer: Timer | undefined;
  graceTimer: Timer | undefined;
  killed = false;
  /** Set when the startup timeout killed it: the crash's reason. */
  timeoutWhy: string | undefined;
  stderrTail: string[] = [];
  /** Resolves when a stopping replica's process has exited. */
  stopped: Promise<void> | undefined;
  onStopped: (() => void) | undefined;

  constructor(
    readonly index: number,
    readonly name: string,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }
}

export class ProcessGroup {
  private readonly replicas: Replica[] = [];
  private desiredReplicas = 0;
  private readonly listeners = new Set<(ready: readonly Endpoint[]) => void>();
  private lastReady = '[]';
  private closed = false;
  private readonly baseBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly resetBackoffAfterMs: number;
  private readonly readinessIntervalMs: number;
  private readonly clock: Clock;

  constructor(
    readonly app: LocalApp,
    private readonly opts: SupervisorOptions = {},
  ) {
    this.baseBackoffMs = opts.baseBackoffMs ?? 1000;
    this.maxBackoffMs = opts.maxBackoffMs ?? 30_000;
    this.resetBackoffAfterMs = opts.resetBackoffAfterMs ?? 10_000;
    this.readinessIntervalMs = opts.readinessIntervalMs ?? 100;
    this.clock = opts.clock ?? realClock;
  }

  get key(): string {
    return keyOf(this.app);
  }

  /** The replicas asked for (what /scale reports). */
  get desired(): number {
    return this.desiredReplicas;
  }

  /** Every replica not being stopped, and those being stopped, in index order. */
  view(): ReplicaView[] {
    return [...this.replicas]
      .sort((a, b) => a.index - b.index)
      .map((r) => ({ name: r.name, phase: r.phase, port: r.port, pid: r.pid, restarts: r.restarts }));
  }

  /** Ready replicas' addresses, in index order. */
  ready(): Endpoint[] {
    return this.replicas
      .filter((r) => r.phase === 'ready' && r.port !== undefined)
      .sort((a, b) => a.index - b.index)
      .map((r) =>
        this.app.protocol === 'h2c'
          ? { address: LOCALHOST, port: r.port as number, protocol: 'h2c' as const }
          : { address: LOCALHOST, port: r.port as number },
      );
  }

  /** Called with the full ready set whenever it changes; returns the unsubscribe function. */
  subscribe(onChange: (ready: readonly Endpoint[]) => void): () => void {
    this.listeners.add(onChange);
    return () => this.listeners.delete(onChange);
  }

  /** Starts or stops replicas until `n` are starting, ready or waiting to restart. */
  scale(n: number): void {
    if (this.closed) return;
    this.desiredReplicas = n;
    const alive = () => this.replicas.filter((r) => r.phase !== 'stopping');
    while (alive().length < n) {
      const used = new Set(this.replicas.map((r) => r.index));
      let index = 0;
      while (used.has(index)) index++;
      const replica = new Replica(index, `${this.app.name}-${index}`);
      this.replicas.push(replica);
      void this.start(replica);
    }
    // Scale down the least useful first: waiting to restart, then starting, then ready; newest first.
    const rank: Record<ReplicaPhase, number> = { backoff: 0, starting: 1, ready: 2, stopping: 3 };
    while (alive().length > n) {
      const victim = alive().sort((a, b) => rank[a.phase] - rank[b.phase] || b.index - a.index)[0];
      if (victim === undefined) break;
      this.stopReplica(victim);
    }
  }

  /** Scales to zero and resolves once every process has exited. */
  async stop(): Promise<void> {
    this.scale(0);
    this.closed = true;
    await Promise.all(this.replicas.map((r) => r.stopped));
  }

  /** SIGKILL to every replica's process group, now (process exit, uncaught errors). */
  killAllNow(): void {
    this.closed = true;
    for (const r of this.replicas) {
      this.clock.cancel(r.timer);
      const pid = r.pid;
      if (pid !== undefined) signalGroup(pid, 'SIGKILL');
    }
  }

  private emit(event: SupervisorEvent): void {
    this.opts.onEvent?.(event);
  }

  private notifyIfChanged(): void {
    const ready = this.ready();
    const text = JSON.stringify(ready);
    if (text === this.lastReady) return;
    this.lastReady = text;
    for (const listener of [...this.listeners]) listener(ready);
  }

  private async start(r: Replica): Promise<void> {
    r.phase = 'starting';
    r.readySince = undefined;
    r.killed = false;
    r.stderrTail = [];
    let port: number;
    try {
      port = await freePort();
    } catch (err) {
      if (r.removed || this.closed) this.drop(r, false);
      else
        this.crashed(r, `no free port on ${LOCALHOST}: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    if (r.removed || this.closed) {
      this.drop(r, false);
      return;
    }
    r.port = port;
    r.startedAt = this.clock.now();
    const env = { ...process.env, ...this.app.env, [this.app.portEnv]: String(port) };
    let child: ChildProcess;
    try {
      child = spawn(this.app.command, [...this.app.args], {
        cwd: this.app.cwd,
        env,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (err) {
      this.crashed(r, `spawn ${this.app.command}: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    r.child = child;
    let exited = false;
    const onExit = (why: string) => {
      if (exited) return;
      exited = true;
      this.exited(r, child, why);
    };
    child.once('error', (err) => onExit(`spawn ${this.app.command}: ${err.message}`));
    child.once('exit', (code, signal) => onExit(signal === null ? `exit code ${code}` : `signal ${signal}`));
    this.readLines(r, child);
    if (child.pid !== undefined) {
      this.opts.guard?.track(child.pid);
      this.emit({ type: 'started', app: this.app.name, replica: r.name, pid: child.pid, port });
    }
    this.probeLoop(r, child);
  }

  private readLines(r: Replica, child: ChildProcess): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      let partial = '';
      child[stream]?.setEncoding('utf8');
      child[stream]?.on('data', (chunk: string) => {
        const lines = (partial + chunk).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) {
          if (stream === 'stderr') {
            r.stderrTail.push(line);
            if (r.stderrTail.length > STDERR_TAIL) r.stderrTail.shift();
          }
          this.opts.onOutput?.(r.name, stream, line);
        }
      });
    }
  }

  private probeLoop(r: Replica, child: ChildProcess): void {
    const tick = async (): Promise<void> => {
      r.timer = undefined;
      if (r.child !== child || r.phase !== 'starting' || r.port === undefined) return;
      const elapsed = this.clock.now() - r.startedAt;
      if (elapsed > this.app.startupTimeoutMs) {
        r.timeoutWhy = `not ready within ${this.app.startupTimeoutMs / 1000} s`;
        if (child.pid !== undefined) signalGroup(child.pid, 'SIGKILL');
        return;
      }
      const timeout = Math.max(200, this.readinessIntervalMs * 5);
      const ok =
        this.app.readinessPath === undefined
          ? await probeTcp(r.port, timeout)
          : await probeHttp(r.port, this.app.readinessPath, timeout);
      if (r.child !== child || r.phase !== 'starting') return;
      if (ok) {
        r.phase = 'ready';
        r.readySince = this.clock.now();
        this.emit({
          type: 'ready',
          app: this.app.name,
          replica: r.name,
          afterMs: r.readySince - r.startedAt,
        });
        this.notifyIfChanged();
        return;
      }
      r.timer = this.clock.after(this.readinessIntervalMs, () => void tick());
    };
    void tick();
  }

  private exited(r: Replica, child: ChildProcess, why: string): void {
    this.clock.cancel(r.timer);
    this.clock.cancel(r.graceTimer);
    r.timer = undefined;
    // What the leader left behind in its group goes with it.
    if (child.pid !== undefined) {
      signalGroup(child.pid, 'SIGKILL');
      this.opts.guard?.untrack(child.pid);
    }
    if (r.child === child) r.child = undefined;
    if (r.phase === 'stopping' || r.removed || this.closed) {
      this.drop(r, r.killed);
      return;
    }
    this.crashed(r, r.timeoutWhy ?? why);
  }

  private crashed(r: Replica, why: string): void {
    r.timeoutWhy = undefined;
    const stayedReady =
      r.readySince !== undefined && this.clock.now() - r.readySince >= this.resetBackoffAfterMs;
    if (stayedReady) r.restarts = 0;
    r.restarts++;
    const backoffMs = Math.min(this.baseBackoffMs * 2 ** (r.restarts - 1), this.maxBackoffMs);
    r.phase = 'backoff';
    r.readySince = undefined;
    this.notifyIfChanged();
    this.emit({
      type: 'crashed',
      app: this.app.name,
      replica: r.name,
      why,
      restarts: r.restarts,
      backoffMs,
      stderrTail: [...r.stderrTail],
    });
    r.timer = this.clock.after(backoffMs, () => {
      r.timer = undefined;
      if (r.phase === 'backoff' && !this.closed) void this.start(r);
    });
  }

  private stopReplica(r: Replica): void {
    const wasReady = r.phase === 'ready';
    r.phase = 'stopping';
    r.stopped = new Promise<void>((resolve) => {
      r.onStopped = resolve;
    });
    this.clock.cancel(r.timer);
    r.timer = undefined;
    if (wasReady) this.notifyIfChanged();
    const pid = r.child?.pid;
    if (pid === undefined) {
      // Waiting to restart, or its port still being picked: there is no process to stop.
      r.removed = true;
      this.drop(r, false);
      return;
    }
    signalGroup(pid, 'SIGTERM');
    r.graceTimer = this.clock.after(this.app.gracePeriodMs, () => {
      r.killed = true;
      signalGroup(pid, 'SIGKILL');
    });
  }

  /** The replica is gone for good. */
  private drop(r: Replica, killed: boolean): void {
    const i = this.replicas.indexOf(r);
    if (i < 0) return;
    this.replicas.splice(i, 1);
    r.phase = 'stopping';
    r.stopped ??= Promise.resolve();
    r.onStopped?.();
    this.notifyIfChanged();
    this.emit({ type: 'stopped', app: this.app.name, replica: r.name, killed });
  }
}
