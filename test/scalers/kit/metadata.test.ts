import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  bool,
  commaList,
  DECIMAL,
  durationWithin,
  GO_INT,
  goDurationOrMs,
  JSON_INTEGER,
  JSON_NUMBER,
  number,
  oneOf,
  parseGoBool,
  parseMetadata,
  required,
  text,
} from '../../../scalers/kit/metadata.ts';

const rows = z.object({
  name: text,
  group: required(' (the consumer group)'),
  list: commaList,
  on: bool(false),
  policy: oneOf(['latest', 'earliest'] as const, 'latest'),
  protocol: oneOf(['amqp', 'http'] as const),
  lag: number(GO_INT, { fallback: 10, within: (n) => n >= 1, outOfRange: 'must be greater than 0' }),
  ratio: number(JSON_NUMBER),
  size: number(JSON_INTEGER),
  target: number(DECIMAL, { fallback: undefined, within: (n) => n > 0, malformed: 'must be a number > 0' }),
  timeout: goDurationOrMs,
  hold: durationWithin(1, 3_600_000, '60s'),
});

const parse = (metadata: Record<string, string>) =>
  parseMetadata(rows, {
    index: 2,
    trigger: { type: 'x', metadata: { group: 'g', ...metadata } },
    authParams: {},
  });

/** The messages of a failed parse, or the parsed value. */
const outcome = (metadata: Record<string, string>) => {
  const r = parse(metadata);
  return r.ok ? r.value : r.error.map((p) => `${p.path}: ${p.message}`);
};

describe('the scaler kit: metadata rows', () => {
  it('defaults: absent and empty (after trimming) are the same', () => {
    const defaults = {
      name: undefined,
      group: 'g',
      list: undefined,
      on: false,
      policy: 'latest',
      protocol: undefined,
      lag: 10,
      ratio: undefined,
      size: undefined,
      target: undefined,
      timeout: undefined,
      hold: undefined,
    };
    expect(outcome({})).toEqual(defaults);
    expect(outcome({ name: '  ', list: ' , ,', on: ' ', lag: '', timeout: '\t' })).toEqual(defaults);
  });

  it.each([
    ['trimmed text', { name: ' a ' }, { name: 'a' }],
    ['a comma list', { list: 'a, b,,c ' }, { list: ['a', 'b', 'c'] }],
    ['a Go bool', { on: 'T' }, { on: true }],
    ['one of', { policy: ' earliest ', protocol: 'http' }, { policy: 'earliest', protocol: 'http' }],
    ['a Go int with leading zeros', { lag: '007' }, { lag: 7 }],
    ['a JSON number', { ratio: '-1.5e2', size: '-3' }, { ratio: -150, size: -3 }],
    ['a decimal', { target: '0.5' }, { target: 0.5 }],
    ['a Go duration', { timeout: '1m30s' }, { timeout: 90_000 }],
    ['milliseconds', { timeout: '1500' }, { timeout: 1500 }],
    ['a coarse duration, rounded', { hold: '1.0004s' }, { hold: 1000 }],
  ] as const)('parses %s', (_label, metadata, expected) => {
    expect(outcome(metadata)).toMatchObject(expected);
  });

  it.each([
    ['group', { group: ' ' }, 'is required (the consumer group)'],
    ['on', { on: 'yes' }, 'must be "true" or "false", got "yes"'],
    ['policy', { policy: 'Latest' }, 'must be one of "latest", "earliest", got "Latest"'],
    ['protocol', { protocol: 'amqps' }, 'must be one of "amqp", "http", got "amqps"'],
    ['lag', { lag: '1.5' }, 'must be an integer, got "1.5"'],
    ['lag', { lag: '99999999999999999999' }, 'must be an integer, got "99999999999999999999"'],
    ['lag', { lag: '0' }, 'must be greater than 0, got "0"'],
    ['ratio', { ratio: '1e400' }, 'must be a number, got "1e400"'],
    ['size', { size: '01' }, 'must be an integer, got "01"'],
    ['target', { target: '0' }, 'must be a number > 0, got "0"'],
    ['target', { target: '-1' }, 'must be a number > 0, got "-1"'],
    [
      'timeout',
      { timeout: '5d' },
      'must be a duration such as "5s" or "1500ms", or a number of milliseconds, got "5d"',
    ],
    ['timeout', { timeout: '-5s' }, 'must not be negative, got "-5s"'],
    ['hold', { hold: '500us' }, 'must be a duration such as "60s", got "500us"'],
    ['hold', { hold: '2h' }, 'must be between 1ms and 1h, got "2h"'],
  ] as const)('refuses %s %j naming the field and the value', (key, metadata, message) => {
    expect(outcome(metadata)).toEqual([`spec.triggers[2].metadata.${key}: ${message}`]);
  });

  it('reports every bad row at once', () => {
    expect(outcome({ on: 'x', lag: 'y' })).toHaveLength(2);
  });

  it("parseGoBool is Go's strconv.ParseBool: exactly twelve spellings", () => {
    const spellings = ['1', 't', 'T', 'TRUE', 'true', 'True', '0', 'f', 'F', 'FALSE', 'false', 'False'];
    expect(spellings.map(parseGoBool)).toEqual([...Array(6).fill(true), ...Array(6).fill(false)]);
    fc.assert(
      fc.property(fc.string(), (s) => {
        expect(parseGoBool(s) === undefined).toBe(!spellings.includes(s));
      }),
    );
  });

  it('never throws on hostile values: a value or a problem naming the field', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...Object.keys(rows.shape)), fc.string()), (metadata) => {
        const r = parse(metadata);
        if (!r.ok) for (const p of r.error) expect(p.path).toMatch(/^spec\.triggers\[2\]\.metadata\.\w+$/);
      }),
    );
  });
});
