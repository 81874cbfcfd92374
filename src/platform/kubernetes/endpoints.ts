// The activator's EndpointSource on the API server: one EndpointSlice watch (discovery.k8s.io/v1)
// and one Service watch for the scope (a namespace or all), indexed by Service
// (label `kubernetes.io/service-name`). A Service port (its number) maps to the endpoints' target
// port through the port's name: the Service's `spec.ports[].name` is the name of the slice port
// that carries the target port (kube-proxy's rule; `''` for a Service's single unnamed port),
// so a named targetPort that differs per pod works too, slice by slice.
//
// A port whose appProtocol is `kubernetes.io/h2c`, `h2c` or `grpc` is spoken to over HTTP/2, one
// whose appProtocol is `https` or `kubernetes.io/wss` over TLS (ports.ts appProtocolOf; the
// slice port's, else the Service port's).
//
// Ready = `conditions.ready` not false (the API says nil means ready); terminating endpoints are
// published not ready, so a pod going away stops getting new requests at once. Only the first
// address of an endpoint is used (they are fungible), FQDN slices never.
//
// Waiters are kept per Service port (`namespace/name:port`): a slice change recomputes the
// ready set of that Service's subscribed ports only, and calls their listeners only when the
// set really changed — no global broadcast, no wake-up for an unrelated Service.

import { z } from 'zod';
import type { Endpoint, EndpointSource, ServiceRef } from '../../activator/ports.ts';
import { appProtocolOf, serviceKeyOf } from '../../activator/ports.ts';
import type { Logger } from '../../logging.ts';
import type { KubeClient } from './client.ts';
import { ResilientInformer } from './informer.ts';
import type { KubernetesObject } from './object.ts';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

const SlicePortSchema = z.object({
  name: z.string().nullish(),
  port: z.number().int().nullish(),
  protocol: z.string().nullish(),
  appProtocol: z.string().nullish(),
});
const SliceSchema = z.object({
  metadata: z.object({
    name: z.string(),
    namespace: z.string().optional(),
    labels: z.record(z.string(), z.string()).nullish(),
  }),
  addressType: z.string(),
  ports: z.array(SlicePortSchema).nullish(),
  endpoints: z
    .array(
      z.object({
        addresses: z.array(z.string()),
        conditions: z.object({ ready: z.boolean().nullish() }).nullish(),
      }),
    )
    .nullish(),
});
type Slice = z.infer<typeof SliceSchema>;

const ServiceSchema = z.object({
  metadata: z.object({ name: z.string(), namespace: z.string().optional() }),
  spec: z
    .object({
      ports: z
        .array(
          z.object({
            name: z.string().nullish(),
            port: z.number().int(),
            protocol: z.string().nullish(),
            appProtocol: z.string().nullish(),
          }),
        )
        .nullish(),
    })
    .nullish(),
});
type Service = z.infer<typeof ServiceSchema>;

/** One subscribed Service port: its current ready set and listeners. */
interface Watched {
  readonly ref: ServiceRef;
  ready: readonly Endpoint[];
  /** `address:port,…` of `ready`, to tell a real change from a no-op update. */
  fingerprint: string;
  readonly listeners: Set<(ready: readonly Endpoint[]) => void>;
}

export interface KubeEndpointSourceOptions {
  /** Watch one namespace; undefined: all. */
  readonly namespace?: string | undefined;
  readonly log: Logger;
  /** Called after a Service was added, changed or deleted (named trigger ports may resolve anew). */
  readonly onServiceChange?: (namespace: string, name: string) => void;
}

const collection = (group: string, plural: string, namespace: string | undefined): string =>
  `${group}${namespace === undefined ? '' : `/namespaces/${encodeURIComponent(namespace)}`}/${plural}`;

const serviceIdOf = (namespace: string, name: string): string => `${namespace}/${name}`;

const isTcp = (protocol: string | null | undefined): boolean => (protocol ?? 'TCP') === 'TCP';

const fingerprintOf = (ready: readonly Endpoint[]): string =>
  ready.map((e) => `${e.address}:${e.port}${e.protocol === undefined ? '' : ` ${e.protocol}`}`).join(',');

export class KubeEndpointSource implements EndpointSource {
  /** Slices by Service (`namespace/name`), then by slice name. */
  private readonly slices = new Map<string, Map<string, Slice>>();
  /** Which Service a slice was indexed under (its label may change or vanish). */
  private readonly sliceService = new Map<string, string>();
  private readonly services = new Map<string, Service>();
  /** Subscribed ports by Service (`namespace/name`), then by service key (`namespace/name:port`). */
  private readonly watched = new Map<string, Map<string, Watched>>();
  private readonly sliceInformer: ResilientInformer;
  private readonly serviceInformer: ResilientInformer;

  constructor(
    client: KubeClient,
    private readonly opts: KubeEndpointSourceOptions,
  ) {
    this.sliceInformer = new ResilientInformer(client, {
      path: collection('/apis/discovery.k8s.io/v1', 'endpointslices', opts.namespace),
      log: opts.log,
      handlers: {
        add: (o) => this.sliceChanged(o, false),
        update: (o) => this.sliceChanged(o, false),
        delete: (o) => this.sliceChanged(o, true),
      },
    });
    this.serviceInformer = new ResilientInformer(client, {
      path: collection('/api/v1', 'services', opts.namespace),
      log: opts.log,
      handlers: {
        add: (o) => this.serviceChanged(o, false),
        update: (o) => this.serviceChanged(o, false),
        delete: (o) => this.serviceChanged(o, true),
      },
    });
  }

  /** Lists and watches Services and EndpointSlices; resolves once both are cached. */
  async start(): Promise<void> {
    await Promise.all([this.serviceInformer.start(), this.sliceInformer.start()]);
  }

  async stop(): Promise<void> {
    await Promise.all([this.serviceInformer.stop(), this.sliceInformer.stop()]);
  }

  ready(service: ServiceRef): readonly Endpoint[] {
    const w = this.watched.get(serviceIdOf(service.namespace, service.name))?.get(serviceKeyOf(service));
    return w !== undefined ? w.ready : this.compute(service);
  }

  subscribe(service: ServiceRef, onChange: (ready: readonly Endpoint[]) => void): () => void {
    const id = serviceIdOf(service.namespace, service.name);
    const key = serviceKeyOf(service);
    let ports = this.watched.get(id);
    if (ports === undefined) {
      ports = new Map();
      this.watched.set(id, ports);
    }
    let w = ports.get(key);
    if (w === undefined) {
      const ready = this.compute(service);
      w = { ref: service, ready, fingerprint: fingerprintOf(ready), listeners: new Set() };
      ports.set(key, w);
    }
    const own = w;
    own.listeners.add(onChange);
    return () => {
      own.listeners.delete(onChange);
      if (own.listeners.size > 0) return;
      const byPort = this.watched.get(id);
      byPort?.delete(key);
      if (byPort?.size === 0) this.watched.delete(id);
    };
  }

  /**
   * The Service port number of a port given by number or name, as the Service declares it;
   * undefined while the Service (or that port) is unknown. A number is returned as it is.
   */
  servicePort(namespace: string, name: string, port: number | string): number | undefined {
    if (typeof port === 'number') return port;
    const svc = this.services.get(serviceIdOf(namespace, name));
    return svc?.spec?.ports?.find((p) => (p.name ?? '') === port && isTcp(p.protocol))?.port;
  }

  /** The ready endpoints of one Service port, from the cached Service and slices. */
  private compute(ref: ServiceRef): Endpoint[] {
    const id = serviceIdOf(ref.namespace, ref.name);
    const svcPort = this.services.get(id)?.spec?.ports?.find((p) => p.port === ref.port && isTcp(p.protocol));
    if (svcPort === undefined) return [];
    const portName = svcPort.name ?? '';
    const out: Endpoint[] = [];
    const seen = new Set<string>();
    const slices = [...(this.slices.get(id)?.values() ?? [])].sort((a, b) =>
      a.metadata.name < b.metadata.name ? -1 : 1,
    );
    for (const slice of slices) {
      if (slice.addressType !== 'IPv4' && slice.addressType !== 'IPv6') continue;
      const slicePort = slice.ports?.find((p) => (p.name ?? '') === portName && isTcp(p.protocol));
      const target = slicePort?.port;
      if (target === undefined || target === null) continue;
      // The slice port carries the Service port's appProtocol (the EndpointSlice controller copies it).
      const protocol = appProtocolOf(slicePort?.appProtocol ?? svcPort.appProtocol);
      for (const e of slice.endpoints ?? []) {
        const address = e.addresses[0];
        if (address === undefined || e.conditions?.ready === false) continue;
        const id = `${address}:${target}`;
        if (seen.has(id)) continue;
        seen.add(id);
        out.push(protocol === 'http/1.1' ? { address, port: target } : { address, port: target, protocol });
      }
    }
    return out;
  }

  /** Recomputes the subscribed ports of one Service and tells their listeners what changed. */
  private refresh(id: string): void {
    const ports = this.watched.get(id);
    if (ports === undefined) return;
    for (const w of ports.values()) {
      const ready = this.compute(w.ref);
      const fingerprint = fingerprintOf(ready);
      if (fingerprint === w.fingerprint) continue;
      w.ready = ready;
      w.fingerprint = fingerprint;
      for (const listener of [...w.listeners]) {
        try {
          listener(ready);
        } catch (err) {
          this.opts.log.error(
            { service: id, err: err instanceof Error ? err.stack : String(err) },
            'endpoint listener failed',
          );
        }
      }
    }
  }

  private sliceChanged(raw: KubernetesObject, deleted: boolean): void {
    const parsed = SliceSchema.safeParse(raw);
    if (!parsed.success) return;
    const slice = parsed.data;
    const namespace = slice.metadata.namespace ?? '';
    const sliceId = `${namespace}/${slice.metadata.name}`;
    const service = slice.metadata.labels?.[SERVICE_NAME_LABEL];
    const was = this.sliceService.get(sliceId);
    const now = deleted || service === undefined ? undefined : serviceIdOf(namespace, service);
    if (was !== undefined && was !== now) {
      const byName = this.slices.get(was);
      byName?.delete(slice.metadata.name);
      if (byName?.size === 0) this.slices.delete(was);
      this.sliceService.delete(sliceId);
      this.refresh(was);
    }
    if (now === undefined) return;
    let byName = this.slices.get(now);
    if (byName === undefined) {
      byName = new Map();
      this.slices.set(now, byName);
    }
    byName.set(slice.metadata.name, slice);
    this.sliceService.set(sliceId, now);
    this.refresh(now);
  }

  private serviceChanged(raw: KubernetesObject, deleted: boolean): void {
    const parsed = ServiceSchema.safeParse(raw);
    if (!parsed.success) return;
    const svc = parsed.data;
    const namespace = svc.metadata.namespace ?? '';
    const id = serviceIdOf(namespace, svc.metadata.name);
    if (deleted) this.services.delete(id);
    else this.services.set(id, svc);
    this.refresh(id);
    this.opts.onServiceChange?.(namespace, svc.metadata.name);
  }
}
