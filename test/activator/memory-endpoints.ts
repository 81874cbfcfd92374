// A tiny in-memory EndpointSource: tests (and the bench) publish ready endpoints per Service.
import type { Endpoint, EndpointSource, ServiceRef } from '../../src/activator/ports.ts';
import { serviceKeyOf } from '../../src/activator/ports.ts';

type Listener = (ready: readonly Endpoint[]) => void;

export class MemoryEndpointSource implements EndpointSource {
  private readonly ready_ = new Map<string, readonly Endpoint[]>();
  private readonly listeners = new Map<string, Set<Listener>>();

  ready(service: ServiceRef): readonly Endpoint[] {
    return this.ready_.get(serviceKeyOf(service)) ?? [];
  }

  subscribe(service: ServiceRef, onChange: Listener): () => void {
    const key = serviceKeyOf(service);
    const set = this.listeners.get(key) ?? new Set<Listener>();
    this.listeners.set(key, set);
    set.add(onChange);
    return () => set.delete(onChange);
  }

  /** Publishes the ready set of `service` (`namespace/name:port`) to its subscribers only. */
  set(service: string, endpoints: readonly Endpoint[]): void {
    this.ready_.set(service, [...endpoints]);
    for (const l of this.listeners.get(service) ?? []) l(endpoints);
  }

  subscribers(service: string): number {
    return this.listeners.get(service)?.size ?? 0;
  }
}
