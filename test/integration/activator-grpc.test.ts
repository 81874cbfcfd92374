// gRPC through `ebb activator`'s real wiring (issue 14): the Kubernetes adapter reads the
// EndpointSlice port's appProtocol (`kubernetes.io/h2c`, and `grpc`) from the real API server,
// the netns test kubelet runs h2c gRPC backends (netns-grpc-backend.ts) behind real
// EndpointSlices, and @grpc/grpc-js clients call through the activator: a cold start from zero
// with unary and bidirectional calls held, answered over HTTP/2 with the replica's trailers.
import { Metadata } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import type { RunningActivator } from '../../src/cli/activator-with-controller.ts';
import { bidi, type EchoClient, echoClient, type GrpcStatus, type Note } from '../activator/grpc-helpers.ts';
import { deploymentReplicas } from '../controller/cluster.ts';
import { useActivatorEnv } from './activator-setup.ts';

let running: RunningActivator;
const clients: EchoClient[] = [];

const { kc, ns, createApp, createHttpScaledObject } = useActivatorEnv('activator-grpc', {
  onStarted(r) {
    running = r;
  },
  beforeStop() {
    for (const c of clients) c.close();
  },
});

const client = (name: string): EchoClient => {
  const c = echoClient(Number(new URL(running.url).port), `${name}.example.test`);
  clients.push(c);
  return c;
};

/** A unary call with a generous deadline: the reply (the backend echoes the message), status. */
const unaryCall = (c: EchoClient, text: string): Promise<{ reply?: Note; status: GrpcStatus }> =>
  new Promise((resolve) => {
    let reply: Note | undefined;
    const call = c.Unary({ text, n: 7 }, new Metadata(), { deadline: Date.now() + 90_000 }, (_e, r) => {
      reply = r;
    }) as { on(e: 'status', l: (s: GrpcStatus) => void): void };
    call.on('status', (status) => resolve(reply === undefined ? { status } : { reply, status }));
  });

describe('gRPC to h2c endpoints behind real EndpointSlices', () => {
  for (const appProtocol of ['kubernetes.io/h2c', 'grpc']) {
    const name = appProtocol === 'grpc' ? 'tally' : 'greeter';
    it(`appProtocol ${appProtocol}: calls held through a cold start are answered over HTTP/2 by the replica`, async () => {
      await createApp(name, { backend: 'grpc', appProtocol });
      await createHttpScaledObject(name, { containerConcurrency: '50' });
      const c = client(name);
      const unaries = Array.from({ length: 10 }, (_, i) => unaryCall(c, `u${i}`));
      const streams = Array.from({ length: 10 }, (_, i) =>
        bidi(c, [`b${i}`, 'again'], { deadline: Date.now() + 90_000 }),
      );
      for (const [i, u] of (await Promise.all(unaries)).entries()) {
        expect(u.status.code).toBe(0);
        expect(u.reply).toEqual({ text: `u${i}`, n: 7 });
        expect(u.status.metadata.get('x-served-by')).toEqual([`${name}-0`]);
      }
      for (const [i, s] of (await Promise.all(streams)).entries()) {
        expect(s.status.code).toBe(0);
        expect(s.replies.map((n) => n.text)).toEqual([`b${i}`, 'again']);
        expect(s.status.metadata.get('x-served-by')).toEqual([`${name}-0`]);
      }
      expect(await deploymentReplicas(kc, ns.name, name)).toBeGreaterThanOrEqual(1);
      const stats = (await running.activator.stats()).routes.find((r) => r.route === `${ns.name}/${name}`);
      expect(stats?.requests).toBe(20);
      expect(stats?.held).toBe(0);
    });
  }
});
