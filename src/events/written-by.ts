import { AgateError } from '../errors/index.js';

/**
 * Which credential wrote a session or an event row (`written_by`, outside the chain's content):
 * `key:<api key id>` for the HTTP API, `import` (`agate import`), `fixtures` (`agate fixtures
 * import`), `demo` (`agate demo`), `library` (a program that calls the store without saying), and
 * `legacy` for rows written before migration 0008. Not personal data: an id, never a secret.
 */
export type WrittenBy = `key:${string}` | 'import' | 'fixtures' | 'demo' | 'library';

const pattern =
  /^(key:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|import|fixtures|demo|library)$/;

/** The writer of rows an API key's request writes. */
export function keyWriter(keyId: string): WrittenBy {
  return `key:${keyId.toLowerCase()}`;
}

/** The writer a caller named, checked (default `library`). */
export function checkWrittenBy(value: unknown): WrittenBy {
  if (value === undefined) return 'library';
  if (typeof value !== 'string' || !pattern.test(value)) {
    throw new AgateError(
      'invalid_request',
      'writtenBy must be key:<api key id>, import, fixtures, demo or library (or leave it out).',
    );
  }
  return value as WrittenBy;
}
