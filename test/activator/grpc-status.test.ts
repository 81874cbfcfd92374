// grpc.ts's pure parts: grpc-timeout's grammar, grpc-message's percent-encoding and the HTTP →
// gRPC status table (PROTOCOL-HTTP2.md, http-grpc-status-mapping.md).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeGrpcMessage, grpcStatusFor, isGrpc, parseGrpcTimeout } from '../../src/activator/grpc.ts';

describe('parseGrpcTimeout', () => {
  const rows: { value: string | undefined; ms: number | undefined }[] = [
    { value: '200m', ms: 200 },
    { value: '1S', ms: 1_000 },
    { value: '2M', ms: 120_000 },
    { value: '1H', ms: 3_600_000 },
    { value: '1500u', ms: 2 }, // rounded up
    { value: '1n', ms: 1 }, // at least 1 ms
    { value: '99999999m', ms: 99_999_999 }, // 8 digits: the most allowed
    { value: '0m', ms: 1 },
    { value: '123456789m', ms: undefined }, // 9 digits
    { value: 'm', ms: undefined },
    { value: '10', ms: undefined },
    { value: '10s', ms: undefined }, // units are case-sensitive
    { value: '-1S', ms: undefined },
    { value: ' 1S', ms: undefined },
    { value: '1.5S', ms: undefined },
    { value: '', ms: undefined },
    { value: undefined, ms: undefined },
  ];
  for (const { value, ms } of rows)
    it(`${JSON.stringify(value)} → ${ms}`, () => expect(parseGrpcTimeout(value)).toBe(ms));

  it('never throws and answers a whole number ≥ 1 or undefined, whatever the bytes', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }), (v) => {
        const ms = parseGrpcTimeout(v);
        return ms === undefined || (Number.isInteger(ms) && ms >= 1);
      }),
    );
  });
});

describe('encodeGrpcMessage', () => {
  it('percent-encodes %, controls and non-ASCII as UTF-8 bytes; printable ASCII stays', () => {
    expect(encodeGrpcMessage('route a/b: 50% held\n')).toBe('route a/b: 50%25 held%0A');
    expect(encodeGrpcMessage('café')).toBe('caf%C3%A9');
  });

  it('round-trips through percent-decoding and yields only printable ASCII', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const encoded = encodeGrpcMessage(s);
        return /^[\x20-\x7e]*$/.test(encoded) && decodeURIComponent(encoded) === Buffer.from(s).toString();
      }),
    );
  });
});

describe('grpcStatusFor', () => {
  const rows = [
    { status: 503, reason: 'RouteHoldLimit', code: 14 },
    { status: 503, reason: 'GlobalHoldLimit', code: 14 },
    { status: 503, reason: 'Draining', code: 14 },
    { status: 502, reason: 'UpstreamFailed', code: 14 },
    { status: 504, reason: 'HoldTimeout', code: 4 },
    { status: 504, reason: 'BackendUnstable', code: 4 },
    { status: 504, reason: 'UpstreamTimeout', code: 4 },
    { status: 404, reason: 'NoRoute', code: 12 },
    { status: 400, reason: 'InvalidHost', code: 13 },
    { status: 501, reason: 'UnsupportedMethod', code: 2 },
  ] as const;
  for (const { status, reason, code } of rows)
    it(`${status} ${reason} → ${code}`, () => expect(grpcStatusFor(status, reason)).toBe(code));
});

describe('isGrpc', () => {
  it('takes application/grpc and its +suffix forms, not gRPC-Web', () => {
    expect(isGrpc('application/grpc')).toBe(true);
    expect(isGrpc('application/grpc+proto')).toBe(true);
    expect(isGrpc('application/grpc;charset=utf-8')).toBe(true);
    expect(isGrpc('application/grpc-web+proto')).toBe(false);
    expect(isGrpc('application/json')).toBe(false);
    expect(isGrpc(undefined)).toBe(false);
  });
});
