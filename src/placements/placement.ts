import { AgateError } from '../errors/index.js';

/**
 * Where a tenant's data lives (ADR 0032): `shared`, the control plane's own database (row-level
 * security), or `database:<name>`, a server configuration names (`AGATE_DATABASE_URL_<NAME>`).
 */
export type Placement = 'shared' | `database:${string}`;

/** A database server's name: what follows `database:` and, upper-cased, `AGATE_DATABASE_URL_`. */
export const databaseNamePattern = /^[a-z][a-z0-9_]{0,39}$/;

/** The placement `text` names, or `invalid_request` saying what a placement looks like. */
export function parsePlacement(text: unknown): Placement {
  if (text === 'shared') return 'shared';
  if (typeof text === 'string' && text.startsWith('database:')) {
    const name = text.slice('database:'.length);
    if (databaseNamePattern.test(name)) return `database:${name}`;
  }
  throw new AgateError(
    'invalid_request',
    `A placement is "shared" or "database:<name>" (a name of 1 to 40 lower-case letters, digits or _, starting with a letter), not ${JSON.stringify(text)}.`,
  );
}

/** The database server's name of a `database:` placement; null for `shared`. */
export function databaseNameOf(placement: Placement): string | null {
  return placement === 'shared' ? null : placement.slice('database:'.length);
}
