// scalingModifiers.formula, step 0: the tokens of expr-lang, read one at a time (each once, so
// lexing is linear). Tokens of expr-lang outside ebb's subset — strings, `**`, `..`, `|`, `{`,
// `let`, `in`, ... — are refused as soon as they are read, naming the construct and its offset.

export type Token =
  | { readonly kind: 'number'; readonly at: number; readonly text: string; readonly value: number }
  | { readonly kind: 'name' | 'op' | 'end'; readonly at: number; readonly text: string };

/** Thrown inside the lexer and parser only; parseFormula turns it into a ParseError. */
export class Refusal extends Error {
  constructor(
    message: string,
    readonly offset: number | undefined,
  ) {
    super(message);
  }
}

/** Read in this order: two-character operators, the refused ones (`**` before `*`), then one character. */
const TWO_CHARACTER_OPERATORS: readonly string[] = ['??', '&&', '||', '==', '!=', '<=', '>='];
/** Each character one operator (iterated as a string: no array to share). */
const ONE_CHARACTER_OPERATORS = '?:()[.,+-*/%<>!';

/** Tokens of expr-lang that are outside the subset, refused as soon as they are read. */
const REFUSED_OPERATORS: ReadonlyArray<readonly [string, string]> = [
  ['**', 'power (**) is not supported'],
  ['^', 'power (^) is not supported'],
  ['..', 'ranges (..) are not supported'],
  ['?.', 'member access (?.) is not supported'],
  ['|', 'pipes (|) are not supported'],
  [';', 'sequences (;) are not supported'],
  ['#', 'predicate placeholders (#) are not supported'],
  ['{', 'maps and predicates ({}) are not supported'],
  ['"', 'strings are not supported'],
  ["'", 'strings are not supported'],
  ['`', 'strings are not supported'],
];
const REFUSED_WORDS: Readonly<Record<string, string>> = {
  let: 'variables (let) are not supported',
  if: 'if/else is not supported; write c ? a : b',
  else: 'if/else is not supported; write c ? a : b',
  in: 'operator in is not supported',
  matches: 'operator matches is not supported',
  contains: 'operator contains is not supported',
  startsWith: 'operator startsWith is not supported',
  endsWith: 'operator endsWith is not supported',
};
const WORD_OPERATORS: ReadonlySet<string> = new Set(['and', 'or', 'not']);

const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isNameStart = (c: number): boolean => (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
const isNameChar = (c: number): boolean => isNameStart(c) || isDigit(c);
const isSpace = (c: number): boolean => c === 32 || c === 9 || c === 10 || c === 13;

/** Reads one token at `i` (after spaces); every token is read once, so lexing is linear. */
export const lex = (s: string, start: number): Token => {
  let i = start;
  while (i < s.length && isSpace(s.charCodeAt(i))) i++;
  if (i >= s.length) return { kind: 'end', at: s.length, text: '' };
  const c = s.charCodeAt(i);
  if (isDigit(c) || (c === 46 && isDigit(s.charCodeAt(i + 1)))) return lexNumber(s, i);
  if (isNameStart(c)) {
    let j = i + 1;
    while (j < s.length && isNameChar(s.charCodeAt(j))) j++;
    const word = s.slice(i, j);
    const refused = REFUSED_WORDS[word];
    if (refused !== undefined) throw new Refusal(refused, i);
    return { kind: WORD_OPERATORS.has(word) ? 'op' : 'name', at: i, text: word };
  }
  for (const text of TWO_CHARACTER_OPERATORS) if (s.startsWith(text, i)) return { kind: 'op', at: i, text };
  for (const [text, message] of REFUSED_OPERATORS) if (s.startsWith(text, i)) throw new Refusal(message, i);
  for (const text of ONE_CHARACTER_OPERATORS) if (s.startsWith(text, i)) return { kind: 'op', at: i, text };
  throw new Refusal(`unexpected character ${JSON.stringify(s[i])}`, i);
};

/** Decimal numbers as expr-lang writes them: `1_000`, `0.5`, `.5`, `2.`, `1e3`; all are doubles. */
const lexNumber = (s: string, i: number): Token => {
  const digits = (from: number): number => {
    let j = from;
    while (j < s.length && (isDigit(s.charCodeAt(j)) || s[j] === '_')) j++;
    return j;
  };
  let j = digits(i);
  // `1..3` is a range and `2.x` member access: the dot belongs to the number only before a digit,
  // a space, an operator or the end.
  if (s[j] === '.' && s[j + 1] !== '.' && !isNameStart(s.charCodeAt(j + 1))) j = digits(j + 1);
  if (s[j] === 'e' || s[j] === 'E') {
    let k = j + 1;
    if (s[k] === '+' || s[k] === '-') k++;
    if (!isDigit(s.charCodeAt(k))) throw new Refusal(`malformed number ${JSON.stringify(s.slice(i, k))}`, i);
    while (k < s.length && isDigit(s.charCodeAt(k))) k++;
    j = k;
  }
  // `0x1F`, `2x`, `1.5.3`: a number runs into letters or another fraction.
  if (isNameChar(s.charCodeAt(j)) || (s[j] === '.' && isDigit(s.charCodeAt(j + 1)))) {
    let end = j;
    while (end < s.length && (isNameChar(s.charCodeAt(end)) || s[end] === '.')) end++;
    const text = s.slice(i, end);
    throw new Refusal(
      /^0[xXoObB]/.test(text)
        ? `only decimal numbers are supported, got ${JSON.stringify(text)}`
        : `malformed number ${JSON.stringify(text)}`,
      i,
    );
  }
  const text = s.slice(i, j);
  const value = Number(text.replaceAll('_', ''));
  if (!Number.isFinite(value)) throw new Refusal(`number ${JSON.stringify(text)} is out of range`, i);
  return { kind: 'number', at: i, text, value };
};

export const describeToken = (t: Token): string =>
  t.kind === 'end' ? 'the end of the formula' : `"${t.text}"`;
