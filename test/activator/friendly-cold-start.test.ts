// The friendly cold start (issue 14, scope 5) through real sockets: the placeholder page for
// browsers on a cold route (other clients held as always; the cold start still poked), and the
// `x-ebb-cold-start` header on answers to requests held for a cold start.
import { describe, expect, it } from 'vitest';
import { acceptsHtml } from '../../src/activator/placeholder.ts';
import { VirtualClock } from '../clock.ts';
import {
  call,
  closeAfterEach,
  routeSpec,
  serviceKey,
  startActivator,
  startBackend,
  until,
} from './helpers.ts';

const track = closeAfterEach();
const BROWSER = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };

describe('Accept naming text/html (RFC 9110 §12.5.1)', () => {
  it.each([
    ['text/html', true],
    ['TEXT/HTML; charset=utf-8', true],
    [BROWSER.accept, true],
    ['application/json, text/html;q=0.5', true],
    ['text/html;q=0', false],
    ['text/html; q=0.000', false],
    ['*/*', false],
    ['text/*', false],
    ['application/json', false],
    ['text/htmlx', false],
    ['', false],
  ])('%j → %s', (accept, want) => expect(acceptsHtml(accept)).toBe(want));
});

describe('placeholder', () => {
  const placeholderRoute = (message?: string) =>
    routeSpec('cart', {
      placeholder: message === undefined ? { refreshSeconds: 3 } : { message, refreshSeconds: 3 },
    });

  it('a browser on a cold route gets the page at once (503, Retry-After, refresh), and the cold start is poked', async () => {
    const a = track(await startActivator([placeholderRoute()]));
    const answer = await call(a.port, 'cart.test', '/shop?x=1', { headers: BROWSER });
    expect(answer.status).toBe(503);
    expect(answer.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(answer.headers['retry-after']).toBe('3');
    expect(answer.headers['cache-control']).toBe('no-store');
    expect(answer.headers.vary).toBe('Accept');
    expect(answer.headers['x-ebb-reason']).toBe('ColdStartPlaceholder');
    expect(answer.body).toContain('<meta http-equiv="refresh" content="3">');
    expect(answer.body).toContain('cart.test is starting up.');
    expect(Number(answer.headers['content-length'])).toBe(Buffer.byteLength(answer.body));
    expect(a.pokes).toEqual([{ route: 'shop/cart', held: 1 }]);
    expect(a.routeStats('shop/cart')).toMatchObject({ held: 0, inFlight: 0, requests: 1 });
  });

  it('the custom text is HTML-escaped', async () => {
    const a = track(await startActivator([placeholderRoute('<b>Warming up</b> & "soon"')]));
    const answer = await call(a.port, 'cart.test', '/', { headers: BROWSER });
    expect(answer.body).toContain('&#60;b&#62;Warming up&#60;/b&#62; &#38; &#34;soon&#34;');
    expect(answer.body).not.toContain('<b>');
  });

  it('HEAD gets the head only', async () => {
    const a = track(await startActivator([placeholderRoute()]));
    const answer = await call(a.port, 'cart.test', '/', { method: 'HEAD', headers: BROWSER });
    expect(answer.status).toBe(503);
    expect(answer.body).toBe('');
  });

  it('pokes at most once per refresh interval, however many browsers reload', async () => {
    const clock = new VirtualClock();
    const a = track(await startActivator([placeholderRoute()], {}, undefined, undefined, clock));
    for (let i = 0; i < 5; i++) await call(a.port, 'cart.test', '/', { headers: BROWSER });
    expect(a.pokes).toHaveLength(1);
    await clock.advance(3000);
    await call(a.port, 'cart.test', '/', { headers: BROWSER });
    expect(a.pokes).toHaveLength(2);
  });

  it('non-HTML clients (Accept */* included) and POSTs are held as always, and answered by the app', async () => {
    const a = track(await startActivator([placeholderRoute()]));
    const json = call(a.port, 'cart.test', '/', { headers: { accept: 'application/json' } });
    const any = call(a.port, 'cart.test', '/', { headers: { accept: '*/*' } });
    const post = call(a.port, 'cart.test', '/', { method: 'POST', headers: BROWSER, body: 'x' });
    await until(() => a.routeStats('shop/cart').held === 3, 'three held requests');
    const app = track(await startBackend());
    a.source.set(serviceKey('cart'), [app.endpoint]);
    expect((await Promise.all([json, any, post])).map((r) => r.status)).toEqual([200, 200, 200]);
  });

  it('a warm route serves browsers from the app, and a route without placeholder holds them', async () => {
    const a = track(await startActivator([placeholderRoute(), routeSpec('plain')]));
    const app = track(await startBackend());
    a.source.set(serviceKey('cart'), [app.endpoint]);
    expect((await call(a.port, 'cart.test', '/', { headers: BROWSER })).status).toBe(200);
    const held = call(a.port, 'plain.test', '/', { headers: BROWSER });
    await until(() => a.routeStats('shop/plain').held === 1, 'the browser held on the plain route');
    a.source.set(serviceKey('plain'), [app.endpoint]);
    expect((await held).status).toBe(200);
  });
});

describe('x-ebb-cold-start', () => {
  it('is on answers to requests held for a cold start, and on no other', async () => {
    const clock = new VirtualClock();
    const a = track(
      await startActivator([routeSpec('cart', { coldStartHeader: true })], {}, undefined, undefined, clock),
    );
    const held = call(a.port, 'cart.test', '/');
    await until(() => a.routeStats('shop/cart').held === 1, 'the request held');
    await clock.advance(1234);
    const app = track(await startBackend());
    a.source.set(serviceKey('cart'), [app.endpoint]);
    expect((await held).headers['x-ebb-cold-start']).toBe('1234ms');
    const warm = await call(a.port, 'cart.test', '/');
    expect(warm.status).toBe(200);
    expect(warm.headers['x-ebb-cold-start']).toBeUndefined();
  });

  it("a backend's own x-ebb-cold-start is dropped on such a route: the client sees only ebb's", async () => {
    const clock = new VirtualClock();
    const a = track(
      await startActivator([routeSpec('cart', { coldStartHeader: true })], {}, undefined, undefined, clock),
    );
    const held = call(a.port, 'cart.test', '/');
    await until(() => a.routeStats('shop/cart').held === 1, 'the request held');
    await clock.advance(250);
    const app = track(
      await startBackend((_req, res) => {
        // Two spellings, three lines: names are case-insensitive (RFC 9110 §5.1).
        res.writeHead(200, [
          'X-Ebb-Cold-Start',
          '0ms',
          'x-kept',
          'yes',
          'x-ebb-cold-START',
          '1ms',
          'x-ebb-cold-start',
          '2ms',
        ]);
        res.end('ok');
      }),
    );
    a.source.set(serviceKey('cart'), [app.endpoint]);
    const answer = await held;
    expect(answer.headers['x-ebb-cold-start']).toBe('250ms');
    expect(answer.headers['x-kept']).toBe('yes');
    const warm = await call(a.port, 'cart.test', '/');
    expect(warm.headers['x-ebb-cold-start']).toBeUndefined();
    expect(warm.headers['x-kept']).toBe('yes');
  });

  it('is off unless the route asks for it', async () => {
    const a = track(await startActivator([routeSpec('cart')]));
    const held = call(a.port, 'cart.test', '/');
    await until(() => a.routeStats('shop/cart').held === 1, 'the request held');
    const app = track(await startBackend());
    a.source.set(serviceKey('cart'), [app.endpoint]);
    const answer = await held;
    expect(answer.status).toBe(200);
    expect(answer.headers['x-ebb-cold-start']).toBeUndefined();
  });
});
