// A real OTLP/HTTP receiver for the tracing tests: a node:http server that records every export
// (OTLP JSON) and the method, path and content type it came with.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface OtlpValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: number | string;
  doubleValue?: number;
}
export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  traceState?: string;
  name: string;
  attributes: { key: string; value: OtlpValue }[];
  status?: { code?: number; message?: string };
}
export interface Export {
  resourceSpans: {
    resource: { attributes: { key: string; value: OtlpValue }[] };
    scopeSpans: { spans: OtlpSpan[] }[];
  }[];
}

export const startReceiver = async (): Promise<{
  url: string;
  exports: Export[];
  paths: string[];
  close(): Promise<void>;
}> => {
  const exports: Export[] = [];
  const paths: string[] = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      paths.push(`${req.method} ${req.url} ${req.headers['content-type']}`);
      exports.push(JSON.parse(Buffer.concat(chunks).toString()) as Export);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    exports,
    paths,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
};

export const spansOf = (exports: readonly Export[]): OtlpSpan[] =>
  exports.flatMap((e) => e.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)));

export const attributes = (span: OtlpSpan): Record<string, unknown> =>
  Object.fromEntries(
    span.attributes.map((a) => [
      a.key,
      a.value.stringValue ??
        a.value.boolValue ??
        (a.value.intValue === undefined ? a.value.doubleValue : Number(a.value.intValue)),
    ]),
  );
