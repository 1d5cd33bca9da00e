import canonicalize from 'canonicalize';

/**
 * RFC 8785 canonical JSON. Requires a JSON value (finite numbers, no undefined, no cycles); the
 * event store checks that before it hashes anything.
 */
export function canonicalJson(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) {
    throw new TypeError('canonicalJson: the value has no JSON representation');
  }
  return text;
}
