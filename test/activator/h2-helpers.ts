// HTTP/2 clients for the activator tests: node:http2 sessions with prior knowledge (h2c) to an
// activator on 127.0.0.1, and a helper that sends one request on a session.
import {
  type ClientHttp2Session,
  type ClientHttp2Stream,
  connect,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
} from 'node:http2';

export interface H2Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly trailers: IncomingHttpHeaders;
}

/** An h2c session to `port` (prior knowledge: the connection preface first, no Upgrade). */
export const h2Session = async (port: number): Promise<ClientHttp2Session & { close(): Promise<void> }> => {
  const session = connect(`http://127.0.0.1:${port}`);
  await new Promise<void>((resolve, reject) => {
    session.once('connect', () => resolve());
    session.once('error', reject);
  });
  session.on('error', () => {});
  const closeSession = session.close.bind(session);
  const close = (): Promise<void> =>
    new Promise((resolve) => {
      if (session.destroyed) return resolve();
      closeSession(() => resolve());
      setTimeout(() => session.destroy(), 2_000).unref();
    });
  return Object.assign(session, { close });
};

/** Sends one request on `session` (`:authority` = `host`) and reads the whole answer. */
export const h2Call = (
  session: ClientHttp2Session,
  host: string,
  path = '/',
  opts: { method?: string; headers?: OutgoingHttpHeaders; body?: string | Buffer } = {},
): { stream: ClientHttp2Stream; answer: Promise<H2Answer> } => {
  const stream = session.request(
    { ':method': opts.method ?? 'GET', ':path': path, ':authority': host, ...opts.headers },
    { endStream: opts.body === undefined },
  );
  const answer = new Promise<H2Answer>((resolve, reject) => {
    let status = 0;
    let headers: IncomingHttpHeaders = {};
    let trailers: IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on('response', (h) => {
      headers = h;
      status = Number(h[':status']);
    });
    stream.on('trailers', (t) => {
      trailers = t;
    });
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve({ status, headers, body: Buffer.concat(chunks).toString(), trailers }));
    stream.on('error', reject);
  });
  if (opts.body !== undefined) stream.end(opts.body);
  return { stream, answer };
};
