// gRPC through the activator with real @grpc/grpc-js clients and servers (test/fixtures/grpc/
// echo.proto) on 127.0.0.1: the four call kinds relayed with their trailers, cold starts, and the
// answers the activator gives by itself as gRPC statuses (grpc.ts), grpc-timeout included.
import { connect, type IncomingHttpHeaders } from 'node:http2';
import { Metadata } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import {
  type BidiCall,
  bidi,
  type EchoClient,
  echoClient,
  type GrpcStatus,
  type Note,
  startGrpcBackend,
  unary,
} from './grpc-helpers.ts';
import {
  call,
  closeAfterEach,
  refusedEndpoint,
  routeSpec,
  serviceKey,
  startActivator,
  until,
} from './helpers.ts';

const track = closeAfterEach();

const OK = 0;
const CANCELLED = 1;
const DEADLINE_EXCEEDED = 4;
const FAILED_PRECONDITION = 9;
const UNIMPLEMENTED = 12;
const UNAVAILABLE = 14;

const client = (port: number, host = 'echo.test'): EchoClient => {
  const c = echoClient(port, host);
  track({ close: c.closed });
  return c;
};

/** A call's streamed replies and its status. */
const streamed = (call: {
  on(e: 'data', l: (n: Note) => void): unknown;
  on(e: 'status', l: (s: GrpcStatus) => void): unknown;
  on(e: 'error', l: () => void): unknown;
}): Promise<{ notes: Note[]; status: GrpcStatus }> =>
  new Promise((resolve) => {
    const notes: Note[] = [];
    call.on('data', (n) => notes.push(n));
    call.on('error', () => {});
    call.on('status', (status) => resolve({ notes, status }));
  });

describe('gRPC through the activator to an h2c endpoint', { timeout: 60_000 }, () => {
  it('relays unary and the three streaming kinds with their statuses and trailing metadata', async () => {
    const b = track(await startGrpcBackend());
    const a = track(await startActivator([routeSpec('echo')]));
    a.source.set(serviceKey('echo'), [b.endpoint]);
    const c = client(a.port);

    const ok = await unary(c, 'hi');
    expect(ok.reply).toEqual({ text: 'echo hi', n: 2 });
    expect(ok.status.code).toBe(OK);
    expect(ok.status.metadata.get('x-served-by')).toEqual(['echo']);

    const failed = await unary(c, 'fail');
    expect(failed.status.code).toBe(FAILED_PRECONDITION);
    expect(failed.status.details).toBe('asked to fail');
    expect(failed.status.metadata.get('x-served-by')).toEqual(['echo']);

    const down = await streamed(c.ServerStream({ text: 'tick', n: 5 }, new Metadata(), {}));
    expect(down.notes.map((n) => n.text)).toEqual(['tick 0', 'tick 1', 'tick 2', 'tick 3', 'tick 4']);
    expect(down.status.code).toBe(OK);
    expect(down.status.metadata.get('x-served-by')).toEqual(['echo']);

    const up = await new Promise<{ reply?: Note; status: GrpcStatus }>((resolve) => {
      let reply: Note | undefined;
      const call = c.ClientStream(new Metadata(), {}, (_e, r) => {
        reply = r;
      });
      call.on('status', (status) => resolve(reply === undefined ? { status } : { reply, status }));
      for (const t of ['a', 'b', 'c']) call.write({ text: t, n: 0 });
      call.end();
    });
    expect(up.reply).toEqual({ text: 'a,b,c', n: 3 });
    expect(up.status.metadata.get('x-served-by')).toEqual(['echo']);

    const both = await bidi(c, ['x', 'y', 'z']);
    expect(both.replies.map((n) => n.text)).toEqual(['echo x', 'echo y', 'echo z']);
    expect(both.status.code).toBe(OK);
    expect(both.status.metadata.get('x-served-by')).toEqual(['echo']);
    expect(a.routeStats('shop/echo').inFlight).toBe(0);
  });

  it('a cold start with 200 concurrent calls (unary and bidirectional) answers every one', async () => {
    const b = track(await startGrpcBackend());
    const a = track(await startActivator([routeSpec('echo', { containerConcurrency: 20 })]));
    // Four connections of 50 calls: each under the 100 streams a connection may open at once.
    const calls: Promise<{ ok: boolean }>[] = [];
    for (let k = 0; k < 4; k++) {
      const c = client(a.port);
      for (let i = 0; i < 25; i++) {
        calls.push(unary(c, `u${k}.${i}`).then((r) => ({ ok: r.reply?.text === `echo u${k}.${i}` })));
        calls.push(
          bidi(c, [`b${k}.${i}`, 'again']).then((r) => ({
            ok: r.status.code === OK && r.replies.map((n) => n.text).join() === `echo b${k}.${i},echo again`,
          })),
        );
      }
    }
    await until(() => a.routeStats('shop/echo').held === 200, '200 calls held', 30_000);
    expect(a.pokes[0]).toEqual({ route: 'shop/echo', held: 1 });
    a.source.set(serviceKey('echo'), [b.endpoint]);
    const results = await Promise.all(calls);
    expect(results.filter((r) => !r.ok)).toHaveLength(0);
    expect(b.calls).toBe(200);
    expect(a.routeStats('shop/echo').held).toBe(0);
  });

  it('a call sent to an endpoint that refuses connections is retried on another, body whole', async () => {
    const b = track(await startGrpcBackend());
    const a = track(await startActivator([routeSpec('echo')]));
    a.source.set(serviceKey('echo'), [{ ...(await refusedEndpoint()), protocol: 'h2c' }, b.endpoint]);
    const c = client(a.port);
    const got = await Promise.all(Array.from({ length: 6 }, (_, i) => unary(c, `r${i}`)));
    for (const [i, r] of got.entries()) expect(r.reply?.text).toBe(`echo r${i}`);
    expect(b.calls).toBe(6);
  });

  it('calls cancelled in the middle of a held batch leave it; the others are answered', async () => {
    const b = track(await startGrpcBackend());
    const a = track(await startActivator([routeSpec('echo')]));
    const c = client(a.port);
    const kept: Promise<{ reply?: Note; status: GrpcStatus }>[] = [];
    const toCancel: BidiCall[] = [];
    const cancelled: Promise<GrpcStatus>[] = [];
    for (let i = 0; i < 20; i++) {
      if (i % 4 === 1) {
        const call = c.Bidi(new Metadata(), {});
        call.write({ text: 'never', n: i });
        toCancel.push(call);
        cancelled.push(streamed(call).then((r) => r.status));
      } else kept.push(unary(c, `k${i}`));
    }
    // All 20 held, then every 4th cancelled: RST_STREAMs from the client in the middle of the batch.
    await until(() => a.routeStats('shop/echo').held === 20, '20 calls held');
    for (const call of toCancel) call.cancel();
    for (const s of await Promise.all(cancelled)) expect(s.code).toBe(CANCELLED);
    await until(() => a.routeStats('shop/echo').held === 15, 'the 5 cancelled calls to leave the queue');
    a.source.set(serviceKey('echo'), [b.endpoint]);
    for (const r of await Promise.all(kept)) expect(r.status.code).toBe(OK);
    expect(b.calls).toBe(15);
  });
});

describe("the activator's own answers to gRPC calls are gRPC statuses", { timeout: 60_000 }, () => {
  it('hold limit → UNAVAILABLE with the reason in the details', async () => {
    const a = track(await startActivator([routeSpec('echo', { maxHeldRequests: 2 })]));
    const c = client(a.port);
    const held = [unary(c, 'one'), unary(c, 'two')];
    await until(() => a.routeStats('shop/echo').held === 2, '2 held');
    const refused = await unary(c, 'three');
    expect(refused.status.code).toBe(UNAVAILABLE);
    expect(refused.status.details).toMatch(/^RouteHoldLimit: route shop\/echo already holds 2 requests/);
    expect(refused.status.metadata.get('x-ebb-reason')).toEqual(['RouteHoldLimit']);
    const b = track(await startGrpcBackend());
    a.source.set(serviceKey('echo'), [b.endpoint]);
    for (const r of await Promise.all(held)) expect(r.status.code).toBe(OK);
  });

  it('hold timeout → DEADLINE_EXCEEDED, for unary and bidirectional calls', async () => {
    const a = track(await startActivator([routeSpec('echo', { holdTimeoutMs: 300 })]));
    const c = client(a.port);
    const [u, s] = await Promise.all([unary(c, 'late'), bidi(c, ['late'])]);
    for (const status of [u.status, s.status]) {
      expect(status.code).toBe(DEADLINE_EXCEEDED);
      expect(status.details).toMatch(
        /^HoldTimeout: route shop\/echo: no endpoint .* within holdTimeout 300 ms/,
      );
    }
  });

  it('no route → UNIMPLEMENTED naming the host', async () => {
    const a = track(await startActivator([routeSpec('echo')]));
    const got = await unary(client(a.port, 'nowhere.test'), 'lost');
    expect(got.status.code).toBe(UNIMPLEMENTED);
    expect(got.status.details).toContain('NoRoute');
    expect(got.status.details).toContain('nowhere.test');
  });

  it('over HTTP/1.1 there is no gRPC: application/grpc gets the HTTP answer', async () => {
    const a = track(await startActivator([routeSpec('echo')]));
    const got = await call(a.port, 'nowhere.test', '/ebb.test.Echo/Unary', {
      method: 'POST',
      headers: { 'content-type': 'application/grpc' },
      body: '',
    });
    expect(got.status).toBe(404);
    expect(got.headers['x-ebb-reason']).toBe('NoRoute');
    expect(got.headers['grpc-status']).toBeUndefined();
  });

  it('a client deadline shorter than the hold ends it at the deadline (grpc-js sends grpc-timeout)', async () => {
    const a = track(await startActivator([routeSpec('echo', { holdTimeoutMs: 60_000 })]));
    const got = await unary(client(a.port), 'hurry', { deadline: Date.now() + 300 });
    expect(got.status.code).toBe(DEADLINE_EXCEEDED);
    await until(() => a.routeStats('shop/echo').held === 0, 'the hold to end');
  });
});

/** One raw gRPC-shaped HTTP/2 request (no client deadline of its own): the answer's head. */
const rawGrpc = async (
  port: number,
  extra: Record<string, string>,
): Promise<IncomingHttpHeaders & { 'x-end-stream': string }> => {
  const session = connect(`http://127.0.0.1:${port}`);
  session.on('error', () => {});
  try {
    const stream = session.request({
      ':method': 'POST',
      ':path': '/ebb.test.Echo/Unary',
      ':authority': 'echo.test',
      'content-type': 'application/grpc',
      te: 'trailers',
      ...extra,
    });
    stream.end();
    return await new Promise((resolve, reject) => {
      stream.on('response', (headers, flags) =>
        // Trailers-only: the status arrives on the one HEADERS frame, which ends the stream.
        resolve(Object.assign(headers, { 'x-end-stream': String((flags & 0x1) === 1) })),
      );
      stream.on('error', reject);
    });
  } finally {
    session.close();
  }
};

describe('grpc-timeout (PROTOCOL-HTTP2.md)', { timeout: 60_000 }, () => {
  it('a grpc-timeout shorter than holdTimeout ends the hold at it, trailers-only DEADLINE_EXCEEDED', async () => {
    const a = track(await startActivator([routeSpec('echo', { holdTimeoutMs: 60_000 })]));
    const head = await rawGrpc(a.port, { 'grpc-timeout': '200m' });
    expect(head[':status']).toBe(200);
    expect(head['content-type']).toBe('application/grpc');
    expect(head['grpc-status']).toBe(String(DEADLINE_EXCEEDED));
    expect(head['x-end-stream']).toBe('true');
    expect(decodeURIComponent(String(head['grpc-message']))).toMatch(
      /^HoldTimeout: route shop\/echo: no endpoint of service shop\/echo:80 became ready within the call's grpc-timeout 200 ms \(holdTimeout 60000 ms\)$/,
    );
    expect(a.routeStats('shop/echo').held).toBe(0);
  });

  it('a call sent at once and refused by its endpoint is re-held until its grpc-timeout, not holdTimeout', async () => {
    const a = track(await startActivator([routeSpec('echo', { holdTimeoutMs: 60_000 })]));
    a.source.set(serviceKey('echo'), [{ ...(await refusedEndpoint()), protocol: 'h2c' }]);
    const head = await rawGrpc(a.port, { 'grpc-timeout': '300m' });
    expect(head['grpc-status']).toBe(String(DEADLINE_EXCEEDED));
    expect(decodeURIComponent(String(head['grpc-message']))).toMatch(
      /^BackendUnstable: .* within the call's grpc-timeout 300 ms \(holdTimeout 60000 ms\): while requests waited, .*refused/,
    );
  });

  it('a malformed grpc-timeout (9 digits) is ignored: holdTimeout applies', async () => {
    const a = track(await startActivator([routeSpec('echo', { holdTimeoutMs: 300 })]));
    const head = await rawGrpc(a.port, { 'grpc-timeout': '123456789m' });
    expect(head['grpc-status']).toBe(String(DEADLINE_EXCEEDED));
    expect(decodeURIComponent(String(head['grpc-message']))).toContain('within holdTimeout 300 ms');
  });

  it('a grpc-timeout longer than holdTimeout leaves holdTimeout in charge', async () => {
    const a = track(await startActivator([routeSpec('echo', { holdTimeoutMs: 300 })]));
    const head = await rawGrpc(a.port, { 'grpc-timeout': '1H' });
    expect(decodeURIComponent(String(head['grpc-message']))).toContain('within holdTimeout 300 ms');
  });
});
