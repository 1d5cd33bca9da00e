// The PII columns of public.players, read from the catalog: a migration marks each one with
// `COMMENT ON COLUMN ... IS 'pii'`, so erasure follows the markers rather than a list kept here.
import type { Queryable } from '../db/index.js';
import { AgateError } from '../errors/index.js';

const plainIdentifier = /^[a-z_][a-z0-9_]*$/;

const query = `
  SELECT a.attname AS name
    FROM pg_catalog.pg_attribute a
   WHERE a.attrelid = 'public.players'::regclass
     AND a.attnum > 0
     AND NOT a.attisdropped
     AND pg_catalog.col_description(a.attrelid, a.attnum) = 'pii'
   ORDER BY a.attnum`;

/**
 * The names of the columns of public.players whose comment is 'pii', in column order. Throws
 * `internal` when there are none (the markers' migration is missing) or a name is not a plain
 * identifier, since callers put these names into SQL.
 */
export async function piiColumns(executor: Queryable): Promise<string[]> {
  const result = await executor.query<{ name: string }>(query);
  const names = result.rows.map((row) => row.name);
  if (names.length === 0) {
    throw new AgateError(
      'internal',
      "No column of public.players is marked 'pii'; run the migrations (agate migrate) before erasing players.",
    );
  }
  const odd = names.find((name) => !plainIdentifier.test(name));
  if (odd !== undefined) {
    throw new AgateError(
      'internal',
      `The PII column ${JSON.stringify(odd)} of public.players is not a plain identifier; rename it.`,
    );
  }
  return names;
}
