// The process supervisor of embedded mode: one ProcessGroup (process-group.ts) per LocalApp,
// by `namespace/name`. It is what the LocalScaleTarget scales and what the activator's
// LocalEndpointSource reads ready replicas from.
//
// `killAllNow()` is synchronous (SIGKILL every group) for process exit and uncaught errors.
import { keyOf } from '../ports.ts';
import type { LocalApp } from './file.ts';
import { ProcessGroup, type SupervisorOptions } from './process-group.ts';

export { LOCALHOST } from './probes.ts';
export type {
  ProcessGuard,
  ReplicaPhase,
  ReplicaView,
  SupervisorEvent,
  SupervisorOptions,
} from './process-group.ts';
export { ProcessGroup } from './process-group.ts';

export class Supervisor {
  private readonly groups = new Map<string, ProcessGroup>();

  constructor(apps: readonly LocalApp[], opts: SupervisorOptions = {}) {
    for (const app of apps) this.groups.set(keyOf(app), new ProcessGroup(app, opts));
  }

  group(namespace: string, name: string): ProcessGroup | undefined {
    return this.groups.get(`${namespace}/${name}`);
  }

  all(): ProcessGroup[] {
    return [...this.groups.values()];
  }

  /** Graceful: every group to zero (SIGTERM, SIGKILL after each app's grace period). */
  async stop(): Promise<void> {
    await Promise.all(this.all().map((g) => g.stop()));
  }

  killAllNow(): void {
    for (const g of this.groups.values()) g.killAllNow();
  }
}
