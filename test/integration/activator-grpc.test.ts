// gRPC through `ebb activator`'s real wiring (issue 14): the Kubernetes adapter reads the
// EndpointSlice port's appProtocol (`kubernetes.io/h2c`, and `grpc`) from the real API server,
// the netns test kubelet runs h2c gRPC backends (netns-grpc-backend.ts) behind real
// EndpointSlices, and @grpc/grpc-js clients call through the activator: a cold start from zero
// with 200 unary and bidirectional calls held, answered over HTTP/2 with the replicas' trailers.
import { Metadata } from '@grpc/grpc-js';
import { describe, expect, it, vi } from 'vitest';
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
    it(`appProtocol ${appProtocol}: 200 calls held through a cold start are answered over HTTP/2 by the replicas`, async () => {
      const kubelet = await createApp(name, { backend: 'grpc', appProtocol, startDelayMs: 2_000 });
      if (kubelet === undefined) throw new Error('no kubelet');
      await createHttpScaledObject(name, { containerConcurrency: '50' });
      // Four connections of 50 calls (25 unary, 25 bidirectional): each under the 100 streams a
      // connection may open at once.
      const unaries: Promise<{ reply?: Note; status: GrpcStatus }>[] = [];
      const streams: ReturnType<typeof bidi>[] = [];
      for (let k = 0; k < 4; k++) {
        const c = client(name);
        for (let i = 0; i < 25; i++) {
          unaries.push(unaryCall(c, `u${k}.${i}`));
          streams.push(bidi(c, [`b${k}.${i}`, 'again'], { deadline: Date.now() + 90_000 }));
        }
      }
      // Caught in the act: the first replica runs but is not ready, and every call is held.
      await vi.waitFor(
        async () => {
          expect(kubelet.replicas()[0]?.phase).toBe('starting');
          const now = (await running.activator.stats()).routes.find((r) => r.route === `${ns.name}/${name}`);
          expect(now?.held).toBe(200);
        },
        { timeout: 30_000, interval: 50 },
      );
      const replica = new RegExp(`^${name}-\\d+$`);
      for (const [j, u] of (await Promise.all(unaries)).entries()) {
        expect(u.status.code).toBe(0);
        expect(u.reply).toEqual({ text: `u${Math.floor(j / 25)}.${j % 25}`, n: 7 });
        expect(u.status.metadata.get('x-served-by')).toEqual([expect.stringMatching(replica)]);
      }
      for (const [j, s] of (await Promise.all(streams)).entries()) {
        expect(s.status.code).toBe(0);
        expect(s.replies.map((n) => n.text)).toEqual([`b${Math.floor(j / 25)}.${j % 25}`, 'again']);
        expect(s.status.metadata.get('x-served-by')).toEqual([expect.stringMatching(replica)]);
      }
      expect(await deploymentReplicas(kc, ns.name, name)).toBeGreaterThanOrEqual(1);
      const stats = (await running.activator.stats()).routes.find((r) => r.route === `${ns.name}/${name}`);
      expect(stats?.requests).toBe(200);
      expect(stats?.held).toBe(0);
    });
  }
});
