// list-watch.ts and watch.ts against a scripted API server on 127.0.0.1 (node:http, real
// sockets): the list's resourceVersion starts the watch; events split across chunks or packed
// into one are each delivered once and garbage lines skipped; a clean close resumes from the last
// resourceVersion seen (a bookmark's); an ERROR 410 event re-lists and deletes what the new list
// lacks; a non-200 watch reaches the error handlers (informer.ts backs off from there).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { realClock } from '../../src/clock.ts';
import { KubeClient } from '../../src/platform/kubernetes/client.ts';
import { ListWatch } from '../../src/platform/kubernetes/list-watch.ts';
import type { KubernetesListObject, KubernetesObject } from '../../src/platform/kubernetes/object.ts';
import { ClientWatch } from '../../src/platform/kubernetes/watch.ts';
import { restConfigFor } from '../env/rest-config.ts';

const PATH = '/api/v1/namespaces/ns/configmaps';
const WAIT = { timeout: 10_000, interval: 20 };
const cm = (name: string, rv: string): KubernetesObject => ({
  metadata: { name, namespace: 'ns', resourceVersion: rv },
});
const line = (type: string, object: unknown) => `${JSON.stringify({ type, object })}\n`;

/** Each watch request is answered by the next script: chunks written in order, then the end. */
type Script = (res: ServerResponse) => Promise<void>;

let server: Server | undefined;
let lw: ListWatch | undefined;
let client: KubeClient | undefined;
afterEach(async () => {
  await lw?.stop();
  await client?.close();
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  server = lw = client = undefined;
});

const start = async (scripts: Script[]) => {
  const watches: URLSearchParams[] = [];
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const query = new URL(req.url ?? '/', 'http://x').searchParams;
    if (query.get('watch') !== 'true') return res.writeHead(500).end(); // lists go through listFn
    watches.push(query);
    const script = scripts.shift();
    if (script === undefined) return; // hold the watch open
    res.writeHead(200, { 'content-type': 'application/json' });
    res.flushHeaders();
    void script(res);
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  client = new KubeClient(restConfigFor({ server: `http://127.0.0.1:${port}` }));
  return watches;
};

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

describe('ListWatch', () => {
  it('delivers events however they are chunked, resumes from a bookmark, re-lists after 410', async () => {
    const lists: KubernetesListObject<KubernetesObject>[] = [
      { metadata: { resourceVersion: '10' }, items: [cm('a', '1'), cm('b', '2')] },
      { metadata: { resourceVersion: '30' }, items: [cm('a', '12'), cm('c', '25')] },
    ];
    const watches = await start([
      async (res) => {
        const c = line('ADDED', cm('c', '11'));
        res.write(c.slice(0, 7));
        await tick();
        res.write(c.slice(7) + line('MODIFIED', cm('a', '12')) + 'not json\n\n');
        await tick();
        res.end(line('BOOKMARK', { metadata: { resourceVersion: '15' } }));
      },
      async (res) => {
        res.end(line('ERROR', { kind: 'Status', code: 410, reason: 'Expired' }));
      },
    ]);
    const seen: string[] = [];
    let listed = 0;
    lw = new ListWatch(
      PATH,
      new ClientWatch(client as KubeClient, { timeoutSeconds: 300 }),
      async () => lists[listed++] ?? { items: [] },
      realClock,
    );
    lw.on('add', (o) => seen.push(`add ${o.metadata?.name}@${o.metadata?.resourceVersion}`));
    lw.on('update', (o) => seen.push(`update ${o.metadata?.name}@${o.metadata?.resourceVersion}`));
    lw.on('delete', (o) => seen.push(`delete ${o.metadata?.name}`));
    lw.on('error', (err) => seen.push(`error ${String(err)}`));
    await lw.start();
    await vi.waitFor(() => expect(watches).toHaveLength(3), WAIT);
    expect(watches.map((q) => q.get('resourceVersion'))).toEqual(['10', '15', '30']);
    expect(watches[0]?.get('allowWatchBookmarks')).toBe('true');
    expect(watches[0]?.get('timeoutSeconds')).toBe('300');
    expect(listed).toBe(2);
    expect(seen).toEqual([
      'add a@1',
      'add b@2',
      'add c@11',
      'update a@12',
      // The re-list after 410: b is gone, c changed, a is the same version (no event).
      'delete b',
      'update c@25',
    ]);
    expect(
      lw
        .list()
        .map((o) => o.metadata?.name)
        .sort(),
    ).toEqual(['a', 'c']);
    expect(lw.get('c', 'ns')?.metadata?.resourceVersion).toBe('25');
  });

  it('a watch answered with a status other than 200 goes to the error handlers with it', async () => {
    const watches = await start([]);
    server?.removeAllListeners('request');
    server?.on('request', (req: IncomingMessage, res: ServerResponse) => {
      watches.push(new URL(req.url ?? '/', 'http://x').searchParams);
      res.writeHead(403, { 'content-type': 'application/json' }).end('{"kind":"Status","code":403}');
    });
    const errors: unknown[] = [];
    lw = new ListWatch(
      PATH,
      new ClientWatch(client as KubeClient),
      async () => ({ metadata: { resourceVersion: '5' }, items: [] }),
      realClock,
    );
    lw.on('error', (err) => errors.push(err));
    await lw.start();
    await vi.waitFor(() => expect(errors).toHaveLength(1), WAIT);
    expect((errors[0] as { statusCode?: number }).statusCode).toBe(403);
    expect(watches).toHaveLength(1);
  });
});
