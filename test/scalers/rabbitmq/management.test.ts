// The management API client and the HTTP scaler against a local stub server (KEDA's tests use
// httptest the same way): request paths, credentials, answers, errors and timeouts.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type ManagementEndpoint, resolveBroker } from '../../../scalers/rabbitmq/broker.ts';
import { rabbitmqScaler } from '../../../scalers/rabbitmq/index.ts';
import {
  getQueue,
  listQueues,
  MAX_REGEX_PAGES,
  MAX_REGEX_QUEUES,
} from '../../../scalers/rabbitmq/management.ts';
import { createRabbitMQSources } from '../../../scalers/rabbitmq/source.ts';
import { realClock } from '../../../src/clock.ts';
import type { TriggerContext } from '../../../src/scaler.ts';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

let server: Server;
let base = '';
let handler: Handler = (_req, res) => res.end();
const seen: Array<{ url: string; authorization: string | undefined }> = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push({ url: req.url ?? '', authorization: req.headers.authorization });
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  seen.length = 0;
});

const json =
  (status: number, body: unknown): Handler =>
  (_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(typeof body === 'string' ? body : JSON.stringify(body));
  };

const ctx = (metadata: Record<string, string>, authParams: Record<string, string> = {}): TriggerContext => ({
  index: 0,
  trigger: { type: 'rabbitmq', metadata: { protocol: 'http', ...metadata } },
  authParams,
});

const endpoint = (
  metadata: Record<string, string>,
  authParams: Record<string, string> = {},
): ManagementEndpoint => {
  const c = ctx({ queueName: 'q', ...metadata }, authParams);
  const config = rabbitmqScaler.parse(c);
  if (!config.ok) throw new Error(JSON.stringify(config.error));
  const broker = resolveBroker(config.value, c);
  if (!broker.ok || broker.value.protocol !== 'http') throw new Error('not an http broker');
  return broker.value;
};

const never = new AbortController().signal;
const QUEUE = {
  messages: 4,
  messages_ready: 3,
  messages_unacknowledged: 1,
  consumers: 2,
  name: 'evaluate_trials',
};

describe('getQueue', () => {
  it.each([
    { path: '', vhostName: undefined, uri: '/api/queues/%2F/evaluate_trials' },
    { path: '/myVhost', vhostName: undefined, uri: '/api/queues/myVhost/evaluate_trials' },
    {
      path: '/sub1/sub2/myVhost',
      vhostName: undefined,
      uri: '/sub1/sub2/api/queues/myVhost/evaluate_trials',
    },
    { path: '/sub1/', vhostName: 'overridenVhost', uri: '/sub1/api/queues/overridenVhost/evaluate_trials' },
    { path: '/%2FmyVhost', vhostName: undefined, uri: '/api/queues/%2FmyVhost/evaluate_trials' },
  ])('asks $uri for host path $path (vhostName $vhostName)', async ({ path, vhostName, uri }) => {
    handler = json(200, QUEUE);
    const e = endpoint({ host: `${base}${path}`, ...(vhostName === undefined ? {} : { vhostName }) });
    const result = await getQueue(e, 'evaluate_trials', never);
    expect(seen.map((s) => s.url)).toEqual([uri]);
    expect(result).toEqual({
      ok: true,
      value: {
        name: 'evaluate_trials',
        messages: 4,
        messagesReady: 3,
        messagesUnacknowledged: 1,
        consumers: 2,
        publishRate: 0,
        deliverGetRate: 0,
      },
    });
  });

  it('escapes the queue name as a path segment and reads the rates', async () => {
    handler = json(200, {
      ...QUEUE,
      message_stats: { publish_details: { rate: 1.4 }, deliver_get_details: { rate: 0.8 } },
    });
    const result = await getQueue(endpoint({ host: base }), 'orders eu/1', never);
    expect(seen[0]?.url).toBe('/api/queues/%2F/orders%20eu%2F1');
    expect(result).toMatchObject({ ok: true, value: { publishRate: 1.4, deliverGetRate: 0.8 } });
  });

  it('sends basic auth from the URL, or from the auth params', async () => {
    handler = json(200, QUEUE);
    const hostWithUser = base.replace('http://', 'http://guest:g%40st@');
    await getQueue(endpoint({ host: hostWithUser }), 'q', never);
    await getQueue(endpoint({ host: hostWithUser }, { username: 'admin', password: 'pw' }), 'q', never);
    expect(seen.map((s) => s.authorization)).toEqual([
      `Basic ${Buffer.from('guest:g@st').toString('base64')}`,
      `Basic ${Buffer.from('admin:pw').toString('base64')}`,
    ]);
  });

  it.each([
    {
      label: '404 names the queue and vhost',
      answer: json(404, { error: 'Object Not Found', reason: 'Not Found' }),
      message: /^queue "orders" not found in vhost "\/" on http:\/\/127\.0\.0\.1:\d+ vhost "\/"$/,
    },
    {
      label: '401 says the credentials were refused',
      answer: json(401, 'Password is incorrect'),
      message: /refused the credentials \(401\) reading queue "orders"/,
    },
    {
      label: 'another status quotes the answer',
      answer: json(500, 'boom\n  crash'),
      message: /answered 500 reading queue "orders": boom crash/,
    },
    {
      label: 'invalid JSON',
      answer: json(200, '{"messages":'),
      message: /invalid JSON reading queue "orders"/,
    },
    {
      label: 'an unexpected shape',
      answer: json(200, { messages: 'many' }),
      message: /unexpected shape reading queue "orders" \(messages: /,
    },
  ])('$label, without the password', async ({ answer, message }) => {
    handler = answer;
    const result = await getQueue(
      endpoint({ host: base.replace('http://', 'http://user:hunter22@') }),
      'orders',
      never,
    );
    expect(result).toMatchObject({
      ok: false,
      error: { reason: 'RabbitMQError', message: expect.stringMatching(message) },
    });
    expect(JSON.stringify(result)).not.toContain('hunter22');
  });

  it('fails fast on a broker that does not answer (timeout)', async () => {
    handler = () => {}; // never answers
    const started = performance.now();
    const result = await getQueue(endpoint({ host: base, timeout: '200' }), 'q', never);
    expect(result).toMatchObject({
      ok: false,
      error: { message: expect.stringMatching(/no answer within 200 ms/) },
    });
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('stops when the poll aborts', async () => {
    handler = () => {};
    const abort = new AbortController();
    const pending = getQueue(endpoint({ host: base, timeout: '60s' }), 'q', abort.signal);
    setTimeout(() => abort.abort(), 50);
    expect(await pending).toMatchObject({
      ok: false,
      error: { message: expect.stringMatching(/cannot read queue "q"/) },
    });
  });

  it('names the broker it cannot reach', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const result = await getQueue(endpoint({ host: `http://u:pw1234@127.0.0.1:${port}` }), 'q', never);
    expect(result).toMatchObject({
      ok: false,
      error: {
        message: expect.stringMatching(
          new RegExp(`at http://127\\.0\\.0\\.1:${port} vhost "/": .*ECONNREFUSED`),
        ),
      },
    });
    expect(JSON.stringify(result)).not.toContain('pw1234');
  });
});

describe('listQueues (useRegex)', () => {
  const page = (items: unknown[], pageCount: number) => ({ items, page_count: pageCount, filtered_count: 0 });

  it('asks with use_regex, the escaped regex, the page size and only the columns it reads', async () => {
    handler = json(200, page([QUEUE], 1));
    const result = await listQueues(
      endpoint({ host: `${base}/sub1/myVhost` }),
      '^evaluate_trials$',
      200,
      never,
    );
    expect(seen.map((s) => s.url)).toEqual([
      '/sub1/api/queues/myVhost?page=1&page_size=200&name=%5Eevaluate_trials%24&use_regex=true' +
        '&columns=name%2Cmessages%2Cmessages_ready%2Cmessages_unacknowledged%2Cconsumers' +
        '%2Cmessage_stats.publish_details.rate%2Cmessage_stats.deliver_get_details.rate',
    ]);
    expect(result).toMatchObject({ ok: true, value: [{ name: 'evaluate_trials', messages: 4 }] });
  });

  it('reads every page (KEDA fails beyond the first)', async () => {
    handler = (req, res) => {
      const n = Number(new URL(req.url ?? '', base).searchParams.get('page'));
      json(200, page([{ ...QUEUE, name: `q${n}`, messages: n }], 3))(req, res);
    };
    const result = await listQueues(endpoint({ host: base }), '^q', 1, never);
    expect(result).toMatchObject({ ok: true, value: [{ messages: 1 }, { messages: 2 }, { messages: 3 }] });
    expect(seen).toHaveLength(3);
  });

  it('matches nothing: an empty list', async () => {
    handler = json(200, page([], 0));
    expect(await listQueues(endpoint({ host: base }), '^none$', 100, never)).toEqual({ ok: true, value: [] });
  });

  it(`refuses more than ${MAX_REGEX_PAGES} pages`, async () => {
    handler = json(200, page([QUEUE], MAX_REGEX_PAGES + 1));
    const result = await listQueues(endpoint({ host: base }), '.*', 1, never);
    expect(result).toMatchObject({
      ok: false,
      error: { message: expect.stringMatching(/fill 51 pages of 1/) },
    });
    expect(seen).toHaveLength(1);
  });

  it(`reads a page of 100,000 queues, and refuses more than ${MAX_REGEX_QUEUES} in all`, async () => {
    const many = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `q${i}`, messages: 1 }));
    handler = json(200, page(many(MAX_REGEX_QUEUES), 1));
    const all = await listQueues(endpoint({ host: base }), '.*', MAX_REGEX_QUEUES, never);
    expect(all.ok && all.value.length).toBe(MAX_REGEX_QUEUES);
    handler = json(200, page(many(MAX_REGEX_QUEUES + 1), 1));
    expect(await listQueues(endpoint({ host: base }), '.*', MAX_REGEX_QUEUES + 1, never)).toMatchObject({
      ok: false,
      error: {
        message: expect.stringMatching(
          /are more than 100000 queues, the most ebb combines; narrow the regex$/,
        ),
      },
    });
  });
});

describe('the http scaler (create + read)', () => {
  const read = async (metadata: Record<string, string>) => {
    const c = ctx(metadata);
    const config = rabbitmqScaler.parse(c);
    if (!config.ok) throw new Error(JSON.stringify(config.error));
    const scaler = rabbitmqScaler.create(config.value, c, createRabbitMQSources(realClock));
    try {
      return await scaler.read(new Date(0), never);
    } finally {
      await scaler.close();
    }
  };

  it('QueueLength counts unacknowledged messages unless excluded', async () => {
    handler = json(200, QUEUE);
    expect(await read({ host: base, queueName: 'q' })).toEqual({
      ok: true,
      value: { value: 4, active: true },
    });
    expect(await read({ host: base, queueName: 'q', excludeUnacknowledged: 'true' })).toEqual({
      ok: true,
      value: { value: 3, active: true },
    });
  });

  it('regex with max', async () => {
    handler = json(200, {
      items: [
        { ...QUEUE, messages: 8 },
        { ...QUEUE, messages: 2 },
      ],
      page_count: 1,
    });
    expect(await read({ host: base, queueName: '^.*incoming$', useRegex: 'true', operation: 'max' })).toEqual(
      {
        ok: true,
        value: { value: 8, active: true },
      },
    );
  });

  it('MessageRate and its activation', async () => {
    handler = json(200, { ...QUEUE, messages: 0, message_stats: { publish_details: { rate: 2.5 } } });
    expect(
      await read({ host: base, queueName: 'q', mode: 'MessageRate', value: '10', activationValue: '3' }),
    ).toEqual({
      ok: true,
      value: { value: 2.5, active: false },
    });
  });

  it('a hostFromEnv trigger is refused before any scaler is built, not left to fail every read', () => {
    expect(rabbitmqScaler.parse(ctx({ hostFromEnv: 'RABBIT_URL', queueName: 'q' }))).toEqual({
      ok: false,
      error: [
        {
          path: 'spec.triggers[0].metadata.hostFromEnv',
          reason: 'InvalidTriggerMetadata',
          message:
            'ebb has no container environment to read it from; put the value in a Secret and reference it with a TriggerAuthentication',
        },
      ],
    });
  });
});
