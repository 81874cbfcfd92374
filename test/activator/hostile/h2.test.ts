// The HTTP/2 attacks of 2023–2024 against the activator, frames written by hand on raw sockets
// (h2-frames.ts): each abusive connection is closed, nothing it opened stays held or counted, and
// a well-behaved client on its own connection is answered meanwhile and after.
import { describe, expect, it } from 'vitest';
import { h2Call, h2Session } from '../h2-helpers.ts';
import { closeAfterEach, routeSpec, serviceKey, startActivator, startBackend, until } from '../helpers.ts';
import {
  CONTINUATION,
  END_HEADERS,
  END_STREAM,
  frame,
  GOAWAY,
  HEADERS,
  literal,
  PING,
  RST_STREAM,
  rawH2,
  requestBlock,
  rstStream,
  settings,
} from './h2-frames.ts';

const track = closeAfterEach();

/** An activator with a cold route `cart` (requests are held) and a warm route `shop`. */
const setUp = async () => {
  const a = track(await startActivator([routeSpec('cart'), routeSpec('shop')]));
  const b = track(await startBackend());
  a.source.set(serviceKey('shop'), [b.endpoint]);
  const bystander = track(await h2Session(a.port));
  return { a, b, bystander };
};

describe('HTTP/2 hostile clients', () => {
  it('the server advertises the hardened limits in its SETTINGS (RFC 9113 §6.5.2)', async () => {
    const { a } = await setUp();
    const raw = await rawH2(a.port);
    await until(() => raw.settings.size > 0, 'the server SETTINGS');
    // MAX_CONCURRENT_STREAMS 100, INITIAL_WINDOW_SIZE 64 KiB - 1, MAX_HEADER_LIST_SIZE 16 KiB, no push.
    expect(raw.settings.get(0x3)).toBe(100);
    expect(raw.settings.get(0x4)).toBe(65_535);
    expect(raw.settings.get(0x6)).toBe(16_384);
    expect(raw.settings.get(0x2)).toBe(0);
    raw.socket.destroy();
  });

  it('rapid reset (CVE-2023-44487): streams opened and reset at once get the connection closed; none stays held', async () => {
    const { a, bystander } = await setUp();
    const raw = await rawH2(a.port);
    const during = h2Call(bystander, 'shop.test', '/during').answer;
    // Each stream is held (cold route) and cancelled in the same write: 20,000 of them.
    for (let batch = 0; batch < 20 && !raw.socket.destroyed; batch++) {
      const frames: Buffer[] = [];
      for (let i = 0; i < 1_000; i++) {
        const id = 2 * (batch * 1_000 + i) + 1;
        frames.push(frame(HEADERS, END_STREAM | END_HEADERS, id, requestBlock('cart.test')), rstStream(id));
      }
      raw.write(Buffer.concat(frames));
      await new Promise((r) => setImmediate(r));
    }
    expect(await raw.closed(20_000)).toBe(true);
    expect(raw.received).toContain(GOAWAY);
    expect((await during).status).toBe(200);
    await until(() => a.routeStats('shop/cart').held === 0, 'no held stream left', 20_000);
    expect((await h2Call(bystander, 'shop.test', '/after').answer).status).toBe(200);
  });

  it('CONTINUATION flood (CVE-2024-27316 class): a header block that never ends closes the connection', async () => {
    const { a, bystander } = await setUp();
    const raw = await rawH2(a.port);
    raw.write(frame(HEADERS, 0, 1, requestBlock('shop.test')));
    // Endless CONTINUATION frames, none with END_HEADERS, each 1 KB of new header fields.
    let sent = 0;
    while (!raw.socket.destroyed && sent < 20_000) {
      const frames: Buffer[] = [];
      for (let i = 0; i < 100; i++, sent++)
        frames.push(frame(CONTINUATION, 0, 1, literal(`x-f${sent}`, 'v'.repeat(1_000))));
      raw.write(Buffer.concat(frames));
      await new Promise((r) => setImmediate(r));
    }
    expect(await raw.closed(20_000)).toBe(true);
    expect(raw.received).toContain(GOAWAY);
    expect(sent).toBeLessThan(20_000);
    expect((await h2Call(bystander, 'shop.test').answer).status).toBe(200);
  });

  it('a header list above the limit is refused without reaching the backend; the connection survives', async () => {
    const { a, b, bystander } = await setUp();
    const big = h2Call(bystander, 'shop.test', '/big', { headers: { 'x-big': 'v'.repeat(40_000) } });
    const outcome = await big.answer.then(
      (x) => `status ${x.status}`,
      (e: Error & { code?: string }) => `reset ${e.code ?? e.message}`,
    );
    expect(outcome).not.toBe('status 200');
    expect(b.seen.map((r) => r.url)).not.toContain('/big');
    expect((await h2Call(bystander, 'shop.test', '/next').answer).status).toBe(200);
    void a;
  });

  it('SETTINGS abuse: a frame with more entries than maxSettings closes the connection', async () => {
    const { a, bystander } = await setUp();
    const raw = await rawH2(a.port);
    const entries: [number, number][] = Array.from({ length: 64 }, (_, i) => [0x3, 100 + i]);
    raw.write(settings(entries));
    expect(await raw.closed(20_000)).toBe(true);
    expect(raw.received).toContain(GOAWAY);
    expect((await h2Call(bystander, 'shop.test').answer).status).toBe(200);
  });

  it('SETTINGS and PING floods whose acknowledgements are never read close the connection', async () => {
    const { a, bystander } = await setUp();
    const raw = await rawH2(a.port);
    raw.socket.pause(); // never read the ACKs
    const ping = frame(PING, 0, 0, Buffer.alloc(8));
    const empty = settings();
    let sent = 0;
    while (!raw.socket.destroyed && sent < 2_000_000) {
      const frames: Buffer[] = [];
      for (let i = 0; i < 1_000; i++, sent++) frames.push(i % 2 === 0 ? ping : empty);
      raw.write(Buffer.concat(frames));
      await new Promise((r) => setImmediate(r));
    }
    expect(raw.socket.destroyed || (await raw.closed(20_000))).toBe(true);
    expect((await h2Call(bystander, 'shop.test').answer).status).toBe(200);
  });

  it('streams beyond SETTINGS_MAX_CONCURRENT_STREAMS (100) are refused, and a client that keeps opening them is closed', async () => {
    const { a, bystander } = await setUp();
    const raw = await rawH2(a.port);
    // 100 held streams, then 5,000 more that the limit refuses.
    const frames: Buffer[] = [];
    for (let i = 0; i < 5_100; i++)
      frames.push(frame(HEADERS, END_STREAM | END_HEADERS, 2 * i + 1, requestBlock('cart.test')));
    raw.write(Buffer.concat(frames));
    expect(await raw.closed(20_000)).toBe(true);
    // Streams over the limit were refused (RST_STREAM REFUSED_STREAM) before node cut the client.
    expect(raw.received).toContain(RST_STREAM);
    await until(
      () => a.routeStats('shop/cart').held === 0,
      'the held streams of the closed connection to go',
      20_000,
    );
    expect((await h2Call(bystander, 'shop.test').answer).status).toBe(200);
  });
});
