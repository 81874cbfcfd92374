import { describe, expect, it } from 'vitest';
import { HttpRouteIndex } from '../../src/controller/http-routes.ts';
import { scaledObjectKeyOfRoute } from '../../src/routing/routes.ts';

const httpTrigger = (metadata: Record<string, string> = {}) => ({
  type: 'http',
  metadata: { hosts: 'web.example.com', service: 'web', port: '80', ...metadata },
});

const scaledObject = (triggers: unknown[], metadata: Record<string, unknown> = {}) => ({
  apiVersion: 'autoscaling.ebb.dev/v1alpha1',
  kind: 'ScaledObject',
  metadata: { name: 'web', namespace: 'ns', resourceVersion: '1', ...metadata },
  spec: { scaleTargetRef: { name: 'web' }, triggers },
});

const ports: Record<string, number> = { 'ns/web/http': 80 };
const resolve = (namespace: string, service: string, port: number | string) =>
  typeof port === 'number' ? port : ports[`${namespace}/${service}/${port}`];

describe('HttpRouteIndex', () => {
  it('builds one route per http trigger, keyed by the ScaledObject, with the trigger limits', () => {
    const index = new HttpRouteIndex();
    expect(
      index.update('ns/web', scaledObject([httpTrigger({ holdTimeout: '5s', containerConcurrency: '4' })])),
    ).toBe(true);
    const built = index.build(resolve);
    expect(built.routes).toEqual([
      {
        key: 'ns/web',
        hosts: ['web.example.com'],
        pathPrefixes: ['/'],
        service: 'web',
        port: 80,
        containerConcurrency: 4,
        holdTimeoutMs: 5000,
        maxHeldRequests: 1000,
        healthPaths: [],
      },
    ]);
    expect([...built.aliases]).toEqual([['web.example.com|/', 'ns/web']]);
  });

  it("carries the trigger's upgrade and timeout settings, only when set", () => {
    const index = new HttpRouteIndex();
    index.update(
      'ns/web',
      scaledObject([
        httpTrigger({
          allowedUpgrades: 'websocket,mqtt',
          upgradeIdleTimeout: '5m',
          requestBodyTimeout: '0s',
          responseTimeout: '30s',
        }),
      ]),
    );
    expect(index.build(resolve).routes[0]).toMatchObject({
      allowedUpgrades: ['websocket', 'mqtt'],
      upgradeIdleTimeoutMs: 300_000,
      requestBodyTimeoutMs: 0,
      responseTimeoutMs: 30_000,
    });
    const plain = new HttpRouteIndex();
    plain.update('ns/web', scaledObject([httpTrigger()]));
    const keys = Object.keys(plain.build(resolve).routes[0] ?? {});
    for (const absent of [
      'allowedUpgrades',
      'upgradeIdleTimeoutMs',
      'requestBodyTimeoutMs',
      'responseTimeoutMs',
    ])
      expect(keys).not.toContain(absent);
  });

  it.each([
    { label: 'a named port the Service declares', port: 'http', routes: 1, unresolved: 0 },
    { label: 'a named port nobody declares (yet)', port: 'grpc', routes: 0, unresolved: 1 },
  ])('$label', ({ port, routes, unresolved }) => {
    const index = new HttpRouteIndex();
    index.update('ns/web', scaledObject([httpTrigger({ port })]));
    const built = index.build(resolve);
    expect([built.routes.length, built.unresolved.length]).toEqual([routes, unresolved]);
  });

  it('keys a second http trigger by its index and leaves other trigger types out', () => {
    const index = new HttpRouteIndex();
    const cron = {
      type: 'cron',
      metadata: { timezone: 'Etc/UTC', start: '0 8 * * *', end: '0 9 * * *', desiredReplicas: '1' },
    };
    index.update('ns/web', scaledObject([cron, httpTrigger(), httpTrigger({ hosts: 'api.example.com' })]));
    const keys = index.build(resolve).routes.map((r) => r.key);
    expect(keys).toEqual(['ns/web', 'ns/web#2']);
    expect(keys.map(scaledObjectKeyOfRoute)).toEqual(['ns/web', 'ns/web']);
  });

  it.each([
    {
      label: 'an invalid ScaledObject',
      raw: scaledObject([httpTrigger({ port: 'not a port!' })], { resourceVersion: '2' }),
    },
    {
      label: 'a ScaledObject being deleted',
      raw: scaledObject([httpTrigger()], { resourceVersion: '2', deletionTimestamp: '2026-01-01T00:00:00Z' }),
    },
    { label: 'a deleted ScaledObject', raw: undefined },
  ])('removes the route of $label', ({ raw }) => {
    const index = new HttpRouteIndex();
    index.update('ns/web', scaledObject([httpTrigger()]));
    expect(index.update('ns/web', raw)).toBe(true);
    expect(index.build(resolve).routes).toEqual([]);
  });

  it('skips an object whose resourceVersion it has seen', () => {
    const index = new HttpRouteIndex();
    expect(index.update('ns/web', scaledObject([httpTrigger()]))).toBe(true);
    expect(index.update('ns/web', scaledObject([httpTrigger({ hosts: 'other.example.com' })]))).toBe(false);
  });
});
