// The pure part of the adapter Service's leader endpoint: what the leader writes, when a live
// object is still its own (the rule that keeps a leaving leader from clobbering its successor),
// when no write is needed, and which servers also need v1 Endpoints.
import { describe, expect, it } from 'vitest';
import {
  HOLDER_ANNOTATION,
  judgeEndpoint,
  leaderSliceName,
  needsLegacyEndpoints,
  renderLeaderSlice,
  renderLegacyEndpoints,
} from '../../src/platform/kubernetes/leader-endpoints.ts';
import type { AdapterEndpoint } from '../../src/platform/ports.ts';

const ME: AdapterEndpoint = {
  namespace: 'ebb-system',
  service: 'ebb-metrics-adapter',
  holder: 'ebb-0_1a2b3c4d',
  address: '10.213.0.11',
  port: 6443,
  podName: 'ebb-controller-0',
};
const SUCCESSOR: AdapterEndpoint = {
  ...ME,
  holder: 'ebb-1_5e6f7a8b',
  address: '10.213.0.12',
  podName: 'ebb-1',
};

/** A live object as the API server returns it: ours plus server fields. */
const live = (o: Record<string, unknown>): Record<string, unknown> => {
  const meta = o.metadata as Record<string, unknown>;
  return {
    ...o,
    metadata: { ...meta, uid: 'u-1', resourceVersion: '42', creationTimestamp: '2026-01-01T00:00:00Z' },
  };
};

describe('renderLeaderSlice', () => {
  it('one ready endpoint, the pod, port https, labelled for the Service', () => {
    expect(renderLeaderSlice(ME)).toEqual({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name: 'ebb-metrics-adapter-leader',
        namespace: 'ebb-system',
        labels: {
          'kubernetes.io/service-name': 'ebb-metrics-adapter',
          'endpointslice.kubernetes.io/managed-by': 'ebb.autoscaling.ebb.dev',
        },
        annotations: { [HOLDER_ANNOTATION]: 'ebb-0_1a2b3c4d' },
      },
      addressType: 'IPv4',
      endpoints: [
        {
          addresses: ['10.213.0.11'],
          conditions: { ready: true },
          targetRef: { kind: 'Pod', namespace: 'ebb-system', name: 'ebb-controller-0' },
        },
      ],
      ports: [{ name: 'https', port: 6443, protocol: 'TCP' }],
    });
    expect(leaderSliceName('x')).toBe('x-leader');
  });

  const rows: readonly { label: string; address: string; addressType: string }[] = [
    { label: 'IPv4', address: '10.213.0.11', addressType: 'IPv4' },
    { label: 'IPv6', address: 'fd00:10:213::11', addressType: 'IPv6' },
    { label: 'IPv4-mapped IPv6 is IPv6', address: '::ffff:10.213.0.11', addressType: 'IPv6' },
  ];
  for (const row of rows) {
    it(`addressType by the address: ${row.label}`, () => {
      expect(renderLeaderSlice({ ...ME, address: row.address })).toMatchObject({
        addressType: row.addressType,
      });
    });
  }

  it('no targetRef without a pod name', () => {
    const { podName: _, ...noPod } = ME;
    const slice = renderLeaderSlice(noPod) as { endpoints: Record<string, unknown>[] };
    expect(slice.endpoints[0]).toEqual({ addresses: ['10.213.0.11'], conditions: { ready: true } });
  });

  it('legacy Endpoints: named as the Service, skip-mirror, one subset', () => {
    expect(renderLegacyEndpoints(ME)).toMatchObject({
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: {
        name: 'ebb-metrics-adapter',
        labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' },
        annotations: { [HOLDER_ANNOTATION]: 'ebb-0_1a2b3c4d' },
      },
      subsets: [
        {
          addresses: [{ ip: '10.213.0.11', targetRef: { kind: 'Pod', name: 'ebb-controller-0' } }],
          ports: [{ name: 'https', port: 6443, protocol: 'TCP' }],
        },
      ],
    });
  });
});

describe('judgeEndpoint: is it still mine, is it up to date', () => {
  const slice = (e: AdapterEndpoint) => live(renderLeaderSlice(e));
  const annotated = (o: Record<string, unknown>, annotations: Record<string, string> | undefined) => {
    const meta = o.metadata as Record<string, unknown>;
    return { ...o, metadata: { ...meta, annotations } };
  };
  const rows: readonly {
    label: string;
    kind: 'EndpointSlice' | 'Endpoints';
    raw: unknown;
    expected: { mine: boolean; upToDate: boolean } | undefined;
  }[] = [
    {
      label: 'my own slice',
      kind: 'EndpointSlice',
      raw: slice(ME),
      expected: { mine: true, upToDate: true },
    },
    {
      label: "the successor's slice",
      kind: 'EndpointSlice',
      raw: slice(SUCCESSOR),
      expected: { mine: false, upToDate: false },
    },
    {
      label: 'my holder but another address (my identity on another pod?): not mine',
      kind: 'EndpointSlice',
      raw: slice({ ...ME, address: '10.213.0.99' }),
      expected: { mine: false, upToDate: false },
    },
    {
      label: 'my address but another holder (a restarted process on the same pod IP): not mine',
      kind: 'EndpointSlice',
      raw: slice({ ...ME, holder: 'ebb-0_ffffffff' }),
      expected: { mine: false, upToDate: false },
    },
    {
      label: 'no holder annotation (someone else wrote it): not mine',
      kind: 'EndpointSlice',
      raw: annotated(slice(ME), undefined),
      expected: { mine: false, upToDate: false },
    },
    {
      label: 'mine, but the adapter port changed: a write',
      kind: 'EndpointSlice',
      raw: slice({ ...ME, port: 8443 }),
      expected: { mine: true, upToDate: false },
    },
    {
      label: 'mine, with an annotation someone added: no write',
      kind: 'EndpointSlice',
      raw: annotated(slice(ME), { [HOLDER_ANNOTATION]: ME.holder, 'example.com/note': 'x' }),
      expected: { mine: true, upToDate: true },
    },
    {
      label: 'mine, marked not ready by someone: not mine any more (no ready address), and a write',
      kind: 'EndpointSlice',
      raw: {
        ...slice(ME),
        endpoints: [{ addresses: [ME.address], conditions: { ready: false } }],
      },
      expected: { mine: false, upToDate: false },
    },
    {
      label: 'ready omitted means ready (the API default)',
      kind: 'EndpointSlice',
      raw: {
        ...slice(ME),
        endpoints: [
          {
            addresses: [ME.address],
            targetRef: { kind: 'Pod', namespace: ME.namespace, name: ME.podName },
          },
        ],
      },
      expected: { mine: true, upToDate: true },
    },
    {
      label: 'a second endpoint beside mine: not only mine, and a write',
      kind: 'EndpointSlice',
      raw: {
        ...slice(ME),
        endpoints: [
          { addresses: [ME.address], conditions: { ready: true } },
          { addresses: [SUCCESSOR.address], conditions: { ready: true } },
        ],
      },
      expected: { mine: false, upToDate: false },
    },
    {
      label: 'my own legacy Endpoints',
      kind: 'Endpoints',
      raw: live(renderLegacyEndpoints(ME)),
      expected: { mine: true, upToDate: true },
    },
    {
      label: "the successor's legacy Endpoints",
      kind: 'Endpoints',
      raw: live(renderLegacyEndpoints(SUCCESSOR)),
      expected: { mine: false, upToDate: false },
    },
    {
      label: 'not an object of that kind',
      kind: 'EndpointSlice',
      raw: { kind: 'Status' },
      expected: undefined,
    },
  ];
  for (const row of rows) {
    it(row.label, () => {
      expect(judgeEndpoint(row.kind, row.raw, ME)).toEqual(row.expected);
    });
  }
});

describe('needsLegacyEndpoints: the aggregator reads EndpointSlices from 1.33', () => {
  const rows: readonly { version: unknown; legacy: boolean }[] = [
    { version: { major: '1', minor: '29' }, legacy: true },
    { version: { major: '1', minor: '32+' }, legacy: true },
    { version: { major: '1', minor: '33' }, legacy: false },
    { version: { major: '1', minor: '35' }, legacy: false },
    { version: { major: '2', minor: '0' }, legacy: false },
    { version: { major: '', minor: '' }, legacy: true },
    { version: 'not json', legacy: true },
  ];
  for (const row of rows) {
    it(`${JSON.stringify(row.version)} → ${row.legacy ? 'Endpoints too' : 'EndpointSlice only'}`, () => {
      expect(needsLegacyEndpoints(row.version)).toBe(row.legacy);
    });
  }
});
