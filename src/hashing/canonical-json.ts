/**
 * RFC 8785 canonical JSON: object keys sorted by UTF-16 code units, no whitespace, strings and
 * numbers as ECMAScript's JSON.stringify writes them. Requires a JSON value (finite numbers, no
 * lone surrogates, no cycles); it throws a TypeError on anything else. The event store checks
 * its input before it hashes anything. Output equals the `canonicalize` package's (pinned by
 * tests): this is the same algorithm without its per-call Set, closures and array joins, which
 * made it the largest cost of hashing an event.
 */
export function canonicalJson(value: unknown): string {
  return write(value, 0);
}

/** Deeper than any storable event or state (the store limits data depth far below this). */
const maxDepth = 1_000;

// Characters that need more than wrapping in quotes, and the lone-surrogate test.
// eslint-disable-next-line no-control-regex
const needsEscape = /["\\\u0000-\u001f\ud800-\udfff]/;
const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function writeString(text: string): string {
  if (!needsEscape.test(text)) return `"${text}"`;
  if (loneSurrogate.test(text)) throw new TypeError('canonicalJson: lone surrogate in a string');
  return JSON.stringify(text);
}

function writeNumber(n: number): string {
  if (!Number.isFinite(n)) throw new TypeError(`canonicalJson: ${n} has no JSON representation`);
  return JSON.stringify(n);
}

function write(value: unknown, depth: number): string {
  switch (typeof value) {
    case 'string':
      return writeString(value);
    case 'number':
      return writeNumber(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      if (value === null) return 'null';
      if (depth > maxDepth) throw new TypeError('canonicalJson: the value is cyclic or too deep');
      return Array.isArray(value)
        ? writeArray(value, depth + 1)
        : writeObject(value as Record<string, unknown>, depth + 1);
    default:
      throw new TypeError(`canonicalJson: a ${typeof value} has no JSON representation`);
  }
}

function writeArray(items: readonly unknown[], depth: number): string {
  let out = '[';
  for (let i = 0; i < items.length; i += 1) {
    if (i > 0) out += ',';
    const item = items[i];
    out +=
      item === undefined || typeof item === 'function' || typeof item === 'symbol'
        ? 'null'
        : write(item, depth);
  }
  return `${out}]`;
}

function writeObject(object: Record<string, unknown>, depth: number): string {
  const toJson: unknown = object.toJSON;
  if (typeof toJson === 'function') return write((toJson as () => unknown).call(object), depth);
  const keys = Object.keys(object).sort();
  let out = '{';
  let first = true;
  for (const key of keys) {
    const item = object[key];
    if (item === undefined || typeof item === 'function' || typeof item === 'symbol') continue;
    out += first ? writeString(key) : `,${writeString(key)}`;
    out += `:${write(item, depth)}`;
    first = false;
  }
  return `${out}}`;
}
