// Route problems as conditions and Events: two ScaledObjects claiming one host + path prefix
// (RouteConflict on the one whose route key sorts later, as the activators' table decides) and a
// named Service port the activators cannot resolve (ServicePortUnresolved). The pure index
// first, then through the controller with the fakes.
import { afterEach, describe, expect, it } from 'vitest';
import { ActivationFeed } from '../../src/controller/activation-feed.ts';
import { admitScaledObject } from '../../src/controller/admission.ts';
import { RouteClaims, type ServicePortView } from '../../src/controller/route-claims.ts';
import type { StatusPatch } from '../../src/platform/ports.ts';
import { condition, eventually, harness, reading, ScriptedScaler, scaledObject, settle } from './fakes.ts';

const http = (metadata: Record<string, string> = {}) => ({
  type: 'http',
  metadata: { hosts: 'shop.example.com', service: 'web', port: '80', ...metadata },
});

const object = (name: string, ...triggers: unknown[]) =>
  scaledObject(name, { triggers: triggers.length === 0 ? [http()] : triggers });

/** A feed whose activator `act` reports these named ports of Service ns/web unresolved. */
const feedWith = (...ports: string[]): ActivationFeed => {
  const feed = new ActivationFeed();
  feed.record({
    activator: 'act',
    at: Date.now(),
    routes: [],
    unresolved: ports.map((port) => ({ route: 'ns/x', namespace: 'ns', service: 'web', port })),
  });
  return feed;
};

let unbind: (() => void) | undefined;
afterEach(() => {
  unbind?.();
  unbind = undefined;
});

describe('RouteClaims', () => {
  const claimsOf = (objects: ReturnType<typeof object>[]) => {
    const rechecked: string[][] = [];
    const claims = new RouteClaims((keys) => rechecked.push([...keys]));
    for (const o of objects)
      claims.update(`${o.metadata.namespace}/${o.metadata.name}`, admitScaledObject(o));
    return { claims, rechecked };
  };

  it.each([
    {
      label: 'one claim each: no problem',
      objects: [object('a', http({ hosts: 'a.example.com' })), object('b', http({ hosts: 'b.example.com' }))],
      want: { 'ns/a': [], 'ns/b': [] },
    },
    {
      label: 'the same host and prefix: the key that sorts first keeps it',
      objects: [object('b'), object('a')],
      want: {
        'ns/a': [],
        'ns/b': [
          {
            path: 'spec.triggers[0].metadata.hosts',
            reason: 'RouteConflict',
            message: expect.stringMatching(
              /^host shop\.example\.com path prefix \/ is also claimed by ScaledObject ns\/a at spec\.triggers\[0\], which keeps it/,
            ),
          },
        ],
      },
    },
    {
      label: 'different prefixes on one host do not clash',
      objects: [object('a', http({ pathPrefixes: '/api' })), object('b', http({ pathPrefixes: '/web' }))],
      want: { 'ns/a': [], 'ns/b': [] },
    },
    {
      label: 'one shared prefix out of two is enough, and the field is the losing trigger',
      objects: [
        object('a', http({ pathPrefixes: '/api' })),
        object(
          'b',
          {
            type: 'cron',
            metadata: { timezone: 'Etc/UTC', start: '0 6 * * *', end: '0 7 * * *', desiredReplicas: '1' },
          },
          http({ pathPrefixes: '/web,/api' }),
        ),
      ],
      want: {
        'ns/a': [],
        'ns/b': [
          {
            path: 'spec.triggers[1].metadata.hosts',
            reason: 'RouteConflict',
            message: expect.stringContaining('path prefix /api is also claimed by ScaledObject ns/a'),
          },
        ],
      },
    },
    {
      label: 'two triggers of one object on one host + prefix: the second loses to the first',
      objects: [object('a', http(), http())],
      want: {
        'ns/a': [
          {
            path: 'spec.triggers[1].metadata.hosts',
            reason: 'RouteConflict',
            message: expect.stringContaining('also claimed by this ScaledObject at spec.triggers[0]'),
          },
        ],
      },
    },
    {
      label: 'one host + prefix, different header matches: no clash (more matches are tried first)',
      objects: [object('a'), object('b', http({ headers: 'x-canary=true' }))],
      want: { 'ns/a': [], 'ns/b': [] },
    },
    {
      label: 'the same header matches, written in another order and case: a clash naming them',
      objects: [
        object('a', http({ headers: 'x-tenant=acme, X-Canary' })),
        object('b', http({ headers: 'x-canary,x-tenant=acme' })),
      ],
      want: {
        'ns/a': [],
        'ns/b': [
          {
            path: 'spec.triggers[0].metadata.hosts',
            reason: 'RouteConflict',
            message: expect.stringMatching(
              /^host shop\.example\.com path prefix \/ headers x-canary,x-tenant=acme is also claimed by ScaledObject ns\/a/,
            ),
          },
        ],
      },
    },
  ])('$label', ({ objects, want }) => {
    const { claims } = claimsOf(objects);
    for (const [key, problems] of Object.entries(want)) expect(claims.problems(key), key).toEqual(problems);
  });

  it('tells which objects to check again when a claim moves, and only then', () => {
    const { claims, rechecked } = claimsOf([
      object('a'),
      object('b'),
      object('c', http({ hosts: 'c.example.com' })),
    ]);
    expect(rechecked).toEqual([]);
    // The winner goes: the loser must be told (it keeps the route now).
    expect(claims.update('ns/a', undefined)).toEqual(['ns/b']);
    expect(claims.problems('ns/b')).toEqual([]);
    // A status-only change moves nothing.
    expect(claims.update('ns/b', admitScaledObject(object('b')))).toEqual([]);
    // An object being deleted claims nothing.
    const deleting = scaledObject('b', { triggers: [http()], deletionTimestamp: '2025-01-06T10:00:00Z' });
    expect(claims.update('ns/b', admitScaledObject(deleting))).toEqual([]);
    expect(claims.update('ns/a', admitScaledObject(object('a')))).toEqual([]);
  });

  it('reports a named port the activators cannot resolve, and such a route claims nothing', () => {
    const { claims } = claimsOf([object('a', http({ port: 'grpc' })), object('b', http({ port: 'http' }))]);
    expect(claims.problems('ns/b')[0]?.reason).toBe('RouteConflict'); // no view bound: ports are not judged
    unbind = claims.watch(feedWith('grpc'));
    expect(claims.problems('ns/a')).toEqual([
      {
        path: 'spec.triggers[0].metadata.port',
        reason: 'ServicePortUnresolved',
        message: expect.stringMatching(/^Service ns\/web has no port named "grpc"/),
      },
    ]);
    expect(claims.problems('ns/b')).toEqual([]); // a's route is not served, so b keeps the host
  });

  it('asks to check the users of a Service again when the activators see its ports change', () => {
    const { claims, rechecked } = claimsOf([
      object('a', http({ port: 'grpc' })),
      object('b', http({ port: 'http' })),
    ]);
    const feed = feedWith('grpc');
    unbind = claims.watch(feed);
    expect(rechecked.at(-1)?.sort()).toEqual(['ns/a', 'ns/b']); // binding: anything may have changed
    rechecked.length = 0;
    feed.record({ activator: 'act', at: Date.now() + 1, routes: [], unresolved: [] });
    expect(rechecked).toEqual([['ns/a', 'ns/b']]);
    expect(claims.problems('ns/a')).toEqual([]);
    // The activator leaves: what it said leaves with it.
    feed.record({
      activator: 'act',
      at: Date.now() + 2,
      routes: [],
      unresolved: [{ route: 'ns/a', namespace: 'ns', service: 'web', port: 'grpc' }],
    });
    rechecked.length = 0;
    feed.forget('act');
    expect(rechecked).toEqual([['ns/a', 'ns/b']]);
    // Other Services' changes are not ours.
    rechecked.length = 0;
    feed.record({
      activator: 'other',
      at: Date.now(),
      routes: [],
      unresolved: [{ route: 'ns/z', namespace: 'ns', service: 'zeta', port: 'grpc' }],
    });
    expect(rechecked).toEqual([]);
  });
});

// ---- through the controller ----

const ready = (patches: readonly { key: string; patch: StatusPatch }[], key: string) =>
  condition(patches, 'Ready', key);

/** A started controller whose http scalers read 0 (no feed needed). */
const started = async (servicePorts?: ServicePortView) => {
  const h = harness({
    script: (resolved) => new ScriptedScaler(resolved.metric, () => reading(0)),
    ...(servicePorts === undefined ? {} : { servicePorts }),
  });
  for (const name of ['a', 'b', 'c']) h.target.set(`Deployment/ns/${name}`, 1);
  await h.controller.start();
  return h;
};

describe('route problems in the controller', () => {
  it('a conflict: Ready=False RouteConflict and a Warning Event naming the field on the loser only; it clears when the winner goes', async () => {
    const h = await started();
    h.source.put(object('b'));
    await eventually(() => expect(h.controller.polling).toBe(1));
    await h.controller.pollNow('ns/b'); // a new loop's first status comes with its first poll
    expect(ready(h.writer.patches, 'ns/b')?.status).toBe('True');

    h.source.put(object('a')); // sorts first: takes the host from b
    await eventually(() => expect(ready(h.writer.patches, 'ns/b')?.reason).toBe('RouteConflict'));
    expect(ready(h.writer.patches, 'ns/b')).toMatchObject({
      status: 'False',
      message: expect.stringMatching(
        /^spec\.triggers\[0\]\.metadata\.hosts: host shop\.example\.com path prefix \/ is also claimed by ScaledObject ns\/a/,
      ),
    });
    await h.controller.pollNow('ns/a');
    expect(ready(h.writer.patches, 'ns/a')?.status).toBe('True');
    const warnings = h.events.events.filter((e) => e.type === 'Warning');
    expect(warnings).toEqual([
      expect.objectContaining({
        key: 'ns/b',
        reason: 'RouteConflict',
        note: expect.stringContaining('spec.triggers[0].metadata.hosts: host shop.example.com'),
      }),
    ]);
    expect(h.controller.polling).toBe(1); // a polls, b does not

    // The same conflict again (a status echo, a forced reconcile) records nothing new.
    await h.controller.reconcileNow('ns/b');
    expect(h.events.events.filter((e) => e.type === 'Warning')).toHaveLength(1);

    h.source.remove('ns/a');
    for (let i = 0; i < 100 && ready(h.writer.patches, 'ns/b')?.status !== 'True'; i++) {
      await settle();
      await h.controller.pollNow('ns/b'); // nothing until b's loop is back
    }
    expect(ready(h.writer.patches, 'ns/b')?.status).toBe('True');
    expect(h.controller.polling).toBe(1);
    await h.controller.stop();
  });

  it('a conflict known at start: the loser never polls', async () => {
    const h = harness({ script: (resolved) => new ScriptedScaler(resolved.metric, () => reading(0)) });
    for (const name of ['a', 'b']) h.target.set(`Deployment/ns/${name}`, 1);
    h.source.put(object('b'));
    h.source.put(object('a'));
    await h.controller.start();
    await eventually(() => {
      expect(ready(h.writer.patches, 'ns/b')?.reason).toBe('RouteConflict');
      expect(h.controller.polling).toBe(1);
    });
    await h.controller.pollNow('ns/a');
    expect(ready(h.writer.patches, 'ns/a')?.status).toBe('True');
    expect(
      h.writer.patches.filter((p) => p.key === 'ns/b').map((p) => p.patch.conditions?.[0]?.reason),
    ).toEqual(['RouteConflict']);
    await h.controller.stop();
  });

  it('an unresolved named port: Ready=False ServicePortUnresolved naming the port, until the activators resolve it', async () => {
    const feed = feedWith('grpc');
    const h = await started(feed);
    h.source.put(object('c', http({ hosts: 'c.example.com', port: 'grpc' })));
    await eventually(() => expect(ready(h.writer.patches, 'ns/c')?.reason).toBe('ServicePortUnresolved'));
    expect(ready(h.writer.patches, 'ns/c')?.message).toMatch(
      /^spec\.triggers\[0\]\.metadata\.port: Service ns\/web has no port named "grpc"/,
    );
    expect(h.events.events).toEqual([
      expect.objectContaining({ key: 'ns/c', type: 'Warning', reason: 'ServicePortUnresolved' }),
    ]);
    expect(h.controller.polling).toBe(0);

    // The Service gets its port: the activator's next report clears it, with no change to the object.
    feed.record({ activator: 'act', at: Date.now() + 1, routes: [], unresolved: [] });
    await eventually(() => expect(h.controller.polling).toBe(1));
    await h.controller.pollNow('ns/c');
    expect(ready(h.writer.patches, 'ns/c')?.status).toBe('True');
    await h.controller.stop();
  });
});
