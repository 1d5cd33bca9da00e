import type { FastifyInstance } from 'fastify';
import { AgateError } from '../errors/index.js';

// A JSON body is stored as sent or refused. JSON.parse turns every number into a double, so a
// number the double cannot hold (9007199254740993, 1e400, 1e-400, 0.10000000000000000001) would
// be stored as another one without a word. This parser refuses those: a number is accepted when
// the double's shortest form (what is stored and read back) denotes the same decimal value as the
// digits sent, so 1.0, 1e2 and -0 (which is 0) are accepted and read back as 1, 100 and 0. A key
// that appears twice in one object is refused too: JSON.parse keeps the last and drops the first.

// Whole strings are matched first, so digits inside them are never taken for numbers.
const tokens = /"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|[{}[\],]/g;
const shortInteger = /^-?(?:0|[1-9]\d{0,14})$/;
const decimal = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

/** A decimal literal as sign, significant digits and exponent: equal keys, equal values. */
function decimalKey(text: string): string {
  const match = decimal.exec(text);
  if (match === null) return `not a number: ${text}`;
  const [, sign = '', whole = '', fraction = '', exponent = '0'] = match;
  const digits = (whole + fraction).replace(/^0+/, '');
  if (digits === '') return '0';
  const significant = digits.replace(/0+$/, '');
  const scale = Number(exponent) - fraction.length + (digits.length - significant.length);
  return `${sign}${significant}e${scale}`;
}

/** What JSON.parse would change without a word: a number it rounds, a key it drops. */
export type RewrittenJson =
  { kind: 'number'; sent: string; stored: string } | { kind: 'duplicate_key'; key: string };

type Frame = { keys: Set<string>; expectKey: boolean } | null;

/**
 * The first thing in `text` (valid JSON) that JSON.parse would not keep as sent: a number a
 * double cannot hold exactly, or a key that appears twice in one object (only the last is kept).
 */
export function findRewrittenJson(text: string): RewrittenJson | undefined {
  const frames: Frame[] = [];
  for (const [token] of text.matchAll(tokens)) {
    const top = frames.at(-1);
    switch (token) {
      case '{':
        frames.push({ keys: new Set(), expectKey: true });
        continue;
      case '[':
        frames.push(null);
        continue;
      case '}':
      case ']':
        frames.pop();
        continue;
      case ',':
        if (top) top.expectKey = true;
        continue;
    }
    if (token.startsWith('"')) {
      if (!top?.expectKey) continue;
      const key = JSON.parse(token) as string;
      if (top.keys.has(key)) return { kind: 'duplicate_key', key };
      top.keys.add(key);
      top.expectKey = false;
      continue;
    }
    if (shortInteger.test(token)) continue;
    const stored = String(Number(token));
    if (decimalKey(stored) !== decimalKey(token)) return { kind: 'number', sent: token, stored };
  }
  return undefined;
}

function messageOf(found: RewrittenJson): string {
  if (found.kind === 'duplicate_key') {
    return `The body has the key ${JSON.stringify(found.key.slice(0, 100))} twice in one object, and only the last would be kept; send each key once.`;
  }
  return `The body holds the number ${found.sent.slice(0, 40)}, which would be stored as ${found.stored}: JSON numbers here are 64-bit doubles (exact integers up to 2^53, 15 to 17 significant digits); send it as a string to keep it exactly.`;
}

/**
 * Replaces Fastify's JSON parser with one that also refuses bodies that would not be stored as
 * sent (`invalid_request`, naming the number or the key). Fastify's own checks (empty body,
 * invalid JSON, `__proto__` and `constructor` keys) still run first.
 */
export function registerExactJson(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    void parse(request, body as string, (error, value) => {
      if (error !== null) return done(error, undefined);
      const found = findRewrittenJson(body as string);
      if (found === undefined) return done(null, value);
      done(new AgateError('invalid_request', messageOf(found)), undefined);
    });
  });
}
