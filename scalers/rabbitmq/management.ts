// The RabbitMQ management HTTP API, as the scaler needs it: one queue
// (`GET /api/queues/<vhost>/<queue>`) or the queues whose name matches a regex
// (`GET /api/queues/<vhost>?use_regex=true&name=<regex>&page=<n>&page_size=<size>`, every page).
// node:http(s) rather than fetch, because KEDA's TLS options (ca, client cert, unsafeSsl) need
// per-request TLS settings that fetch cannot take. Each controller's RabbitMQSources holds one
// HttpGet with its own keep-alive agents (createHttpGet), never the process.
// Answers are parsed with zod; failures are values whose message names the queue and the
// broker (never its credentials).
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { z } from 'zod';
import { fail, ok, type Result } from '../../src/api/reasons.ts';
import { type Clock, realClock } from '../../src/clock.ts';
import type { ReadError } from '../../src/scaler.ts';
import { type ManagementEndpoint, RabbitMQError } from './broker.ts';
import type { QueueInfo } from './metric.ts';

export interface HttpAnswer {
  readonly status: number;
  readonly body: string;
}

/** One GET with the endpoint's credentials, TLS and timeout; rejects on network errors. */
export type HttpGet = (url: string, endpoint: ManagementEndpoint, signal: AbortSignal) => Promise<HttpAnswer>;

/** More than this many regex pages (of pageSize queues each) is refused rather than read. */
export const MAX_REGEX_PAGES = 50;
/** More queues than this matching a regex are refused: they are kept until combined. */
export const MAX_REGEX_QUEUES = 100_000;
/**
 * An answer is parsed in one piece on the event loop (JSON.parse, then zod): 8 MiB is about 100 ms
 * of it. A regex page asks only for QUEUE_COLUMNS, about 150 bytes a queue (a full queue object
 * is 1 KB or more), so a page of 10,000 queues is about 1.5 MB.
 */
const MAX_BODY_BYTES = 8 * 1024 * 1024;
/** The fields QueueSchema reads: the management API's `columns` (subfields separated by dots). */
const QUEUE_COLUMNS = [
  'name',
  'messages',
  'messages_ready',
  'messages_unacknowledged',
  'consumers',
  'message_stats.publish_details.rate',
  'message_stats.deliver_get_details.rate',
].join(',');

/**
 * An HttpGet with its own keep-alive agents (one per controller: ScalerDeps.rabbitmq); `clock`
 * arms each request's timeout.
 */
export const createHttpGet = (clock: Clock = realClock): HttpGet => {
  const agents: Agents = {
    http: new HttpAgent({ keepAlive: true, maxSockets: 32 }),
    https: new HttpsAgent({ keepAlive: true, maxSockets: 32 }),
  };
  return (url, endpoint, signal) => {
    // Not AbortSignal.timeout(): that timer is node's, off the clock, and outlives the request.
    const timeout = new AbortController();
    const timer = clock.after(endpoint.timeoutMs, () => timeout.abort());
    return get(url, endpoint, signal, AbortSignal.any([signal, timeout.signal]), agents).finally(() =>
      clock.cancel(timer),
    );
  };
};

interface Agents {
  readonly http: HttpAgent;
  readonly https: HttpsAgent;
}

const get = (
  url: string,
  endpoint: ManagementEndpoint,
  signal: AbortSignal,
  deadline: AbortSignal,
  agents: Agents,
): Promise<HttpAnswer> =>
  new Promise<HttpAnswer>((resolve, reject) => {
    const secure = url.startsWith('https:');
    const headers: Record<string, string> = { accept: 'application/json' };
    if (endpoint.authorization !== undefined) headers.authorization = endpoint.authorization;
    const onAnswer = (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_BODY_BYTES)
          res.destroy(new Error(`answer larger than ${MAX_BODY_BYTES} bytes (lower pageSize)`));
        else chunks.push(chunk);
      });
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', reject);
    };
    const req = secure
      ? httpsRequest(
          url,
          { method: 'GET', headers, agent: agents.https, signal: deadline, ...(endpoint.tls ?? {}) },
          onAnswer,
        )
      : httpRequest(url, { method: 'GET', headers, agent: agents.http, signal: deadline }, onAnswer);
    req.on('error', (error) => {
      reject(
        deadline.aborted && !signal.aborted ? new Error(`no answer within ${endpoint.timeoutMs} ms`) : error,
      );
    });
    req.end();
  });

// ---- answers ----

const count = z
  .number()
  .nullish()
  .transform((n) => n ?? 0);
const Rate = z.object({ rate: count }).nullish();

const QueueSchema = z.object({
  name: z
    .string()
    .nullish()
    .transform((n) => n ?? ''),
  messages: count,
  messages_ready: count,
  messages_unacknowledged: count,
  consumers: count,
  // Absent on a queue nothing was ever published to.
  message_stats: z.object({ publish_details: Rate, deliver_get_details: Rate }).nullish(),
});

const QueuePageSchema = z.object({
  items: z.array(QueueSchema),
  page_count: count,
});

const toQueueInfo = (q: z.output<typeof QueueSchema>): QueueInfo => ({
  name: q.name,
  messages: q.messages,
  messagesReady: q.messages_ready,
  messagesUnacknowledged: q.messages_unacknowledged,
  consumers: q.consumers,
  publishRate: q.message_stats?.publish_details?.rate ?? 0,
  deliverGetRate: q.message_stats?.deliver_get_details?.rate ?? 0,
});

const problem = (message: string): { ok: false; error: ReadError } =>
  fail({ reason: RabbitMQError, message });

const vhostOf = (endpoint: ManagementEndpoint): string => {
  try {
    return decodeURIComponent(endpoint.vhostSegment);
  } catch {
    return endpoint.vhostSegment;
  }
};

/** One GET, its status checked and its JSON parsed with `schema`. */
const getJson = async <S extends z.ZodType>(
  url: string,
  what: string,
  schema: S,
  endpoint: ManagementEndpoint,
  signal: AbortSignal,
  get: HttpGet,
): Promise<Result<z.output<S>, ReadError> | { ok: 'notFound' }> => {
  let answer: HttpAnswer;
  try {
    answer = await get(url, endpoint, signal);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return problem(`cannot read ${what} from the management API at ${endpoint.display}: ${reason}`);
  }
  if (answer.status === 404) return { ok: 'notFound' };
  if (answer.status === 401) {
    return problem(`the management API at ${endpoint.display} refused the credentials (401) reading ${what}`);
  }
  if (answer.status !== 200) {
    const body = answer.body.replace(/\s+/g, ' ').slice(0, 200);
    return problem(
      `the management API at ${endpoint.display} answered ${answer.status} reading ${what}: ${body}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(answer.body);
  } catch {
    return problem(`the management API at ${endpoint.display} answered with invalid JSON reading ${what}`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const at = issue === undefined ? '' : ` (${issue.path.join('.')}: ${issue.message})`;
    return problem(
      `the management API at ${endpoint.display} answered an unexpected shape reading ${what}${at}`,
    );
  }
  return ok(parsed.data);
};

/** `GET /api/queues/<vhost>/<queue>`. */
export const getQueue = async (
  endpoint: ManagementEndpoint,
  queue: string,
  signal: AbortSignal,
  // Scalers pass their controller's; a call without one gets agents of its own.
  get: HttpGet = createHttpGet(),
): Promise<Result<QueueInfo, ReadError>> => {
  // KEDA escapes the queue with url.QueryEscape, which turns a space into "+" (a different queue).
  const url = `${endpoint.baseUrl}/api/queues/${endpoint.vhostSegment}/${encodeURIComponent(queue)}`;
  const answer = await getJson(url, `queue "${queue}"`, QueueSchema, endpoint, signal, get);
  if (answer.ok === 'notFound') {
    return problem(`queue "${queue}" not found in vhost "${vhostOf(endpoint)}" on ${endpoint.display}`);
  }
  return answer.ok ? ok(toQueueInfo(answer.value)) : answer;
};

/**
 * Every queue of the vhost whose name matches `regex`, all pages (KEDA reads one page and fails
 * when there are more).
 */
export const listQueues = async (
  endpoint: ManagementEndpoint,
  regex: string,
  pageSize: number,
  signal: AbortSignal,
  // Scalers pass their controller's; a call without one gets agents of its own.
  get: HttpGet = createHttpGet(),
): Promise<Result<QueueInfo[], ReadError>> => {
  const queues: QueueInfo[] = [];
  const what = `the queues matching "${regex}"`;
  for (let page = 1; ; page++) {
    const query = new URLSearchParams({
      page: String(page),
      page_size: String(pageSize),
      name: regex,
      use_regex: 'true',
      columns: QUEUE_COLUMNS,
    });
    const url = `${endpoint.baseUrl}/api/queues/${endpoint.vhostSegment}?${query.toString()}`;
    const answer = await getJson(url, what, QueuePageSchema, endpoint, signal, get);
    if (answer.ok === 'notFound') {
      return problem(`vhost "${vhostOf(endpoint)}" not found on ${endpoint.display} reading ${what}`);
    }
    if (!answer.ok) return answer;
    if (queues.length + answer.value.items.length > MAX_REGEX_QUEUES) {
      return problem(
        `${what} on ${endpoint.display} are more than ${MAX_REGEX_QUEUES} queues, the most ebb combines; narrow the regex`,
      );
    }
    for (const item of answer.value.items) queues.push(toQueueInfo(item)); // no spread: pages can be large
    const pages = answer.value.page_count;
    if (page >= pages) return ok(queues);
    if (pages > MAX_REGEX_PAGES) {
      return problem(
        `${what} on ${endpoint.display} fill ${pages} pages of ${pageSize}; ebb reads at most ${MAX_REGEX_PAGES} (raise pageSize or narrow the regex)`,
      );
    }
  }
};
