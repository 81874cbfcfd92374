// HTTP/2 frames built by hand (RFC 9113 §4.1, HPACK RFC 7541 without Huffman nor indexing) for
// the hostile HTTP/2 tests: what an attacker writes on a raw socket, no client library between.
import { connect, type Socket } from 'node:net';

export const DATA = 0x0;
export const HEADERS = 0x1;
export const RST_STREAM = 0x3;
export const SETTINGS = 0x4;
export const PING = 0x6;
export const GOAWAY = 0x7;
export const CONTINUATION = 0x9;
export const END_STREAM = 0x1;
export const END_HEADERS = 0x4;

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** One frame: 9-byte header (24-bit length, type, flags, 31-bit stream id) and payload. */
export const frame = (
  type: number,
  flags: number,
  stream: number,
  payload: Buffer = Buffer.alloc(0),
): Buffer => {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream & 0x7fffffff, 5);
  return Buffer.concat([head, payload]);
};

/** An HPACK integer with an `prefixBits`-bit prefix (RFC 7541 §5.1). */
const hpackInt = (value: number, prefixBits: number, firstByte: number): number[] => {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [firstByte | value];
  const out = [firstByte | max];
  let rest = value - max;
  while (rest >= 128) {
    out.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
  return out;
};

/** A literal header field without indexing, new name (RFC 7541 §6.2.2), no Huffman. */
export const literal = (name: string, value: string): Buffer =>
  Buffer.concat([
    Buffer.from([0x00, ...hpackInt(name.length, 7, 0)]),
    Buffer.from(name, 'latin1'),
    Buffer.from(hpackInt(value.length, 7, 0)),
    Buffer.from(value, 'latin1'),
  ]);

/** A header block for `GET path` on `authority` (scheme http), plus `extra` fields. */
export const requestBlock = (authority: string, path = '/', extra: Buffer[] = []): Buffer =>
  Buffer.concat([
    literal(':method', 'GET'),
    literal(':scheme', 'http'),
    literal(':path', path),
    literal(':authority', authority),
    ...extra,
  ]);

export const settings = (entries: [number, number][] = []): Buffer => {
  const payload = Buffer.alloc(entries.length * 6);
  entries.forEach(([id, value], i) => {
    payload.writeUInt16BE(id, i * 6);
    payload.writeUInt32BE(value, i * 6 + 2);
  });
  return frame(SETTINGS, 0, 0, payload);
};

export const rstStream = (stream: number, code = 0x8 /* CANCEL */): Buffer => {
  const payload = Buffer.alloc(4);
  payload.writeUInt32BE(code, 0);
  return frame(RST_STREAM, 0, stream, payload);
};

export interface RawH2 {
  readonly socket: Socket;
  /** Frame types the server sent so far, in order. */
  readonly received: number[];
  /** The server's SETTINGS (identifier → value), from its non-ACK SETTINGS frames. */
  readonly settings: Map<number, number>;
  /** The GOAWAY error code, when one came. */
  goawayCode(): number | undefined;
  /** Resolves when the server closed the connection (true), or after `ms` (false). */
  closed(ms: number): Promise<boolean>;
  write(b: Buffer): boolean;
}

/** A raw connection that sent the preface and an empty SETTINGS, and parses what comes back. */
export const rawH2 = async (port: number): Promise<RawH2> => {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  socket.on('error', () => {});
  const received: number[] = [];
  const serverSettings = new Map<number, number>();
  let goaway: number | undefined;
  let buf = Buffer.alloc(0);
  let isClosed = false;
  const closedWaiters: (() => void)[] = [];
  socket.on('data', (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    while (buf.length >= 9) {
      const len = buf.readUIntBE(0, 3);
      if (buf.length < 9 + len) break;
      const type = buf[3] as number;
      received.push(type);
      if (type === GOAWAY && len >= 8) goaway = buf.readUInt32BE(13);
      if (type === SETTINGS && (buf[4] as number) === 0)
        for (let at = 9; at + 6 <= 9 + len; at += 6)
          serverSettings.set(buf.readUInt16BE(at), buf.readUInt32BE(at + 2));
      buf = buf.subarray(9 + len);
    }
  });
  socket.on('close', () => {
    isClosed = true;
    for (const w of closedWaiters) w();
  });
  socket.write(Buffer.concat([PREFACE, settings()]));
  return {
    socket,
    received,
    settings: serverSettings,
    goawayCode: () => goaway,
    closed: (ms) =>
      new Promise((resolve) => {
        if (isClosed) return resolve(true);
        const t = setTimeout(() => resolve(false), ms);
        closedWaiters.push(() => {
          clearTimeout(t);
          resolve(true);
        });
      }),
    write: (b) => !socket.destroyed && socket.write(b),
  };
};
