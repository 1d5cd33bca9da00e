import { AgateError } from '../errors/index.js';
import type { Queryable } from './pool.js';

/**
 * Runs a migration's statements and the ledger row that records it in one transaction on a
 * dedicated connection; on failure rolls back and throws `internal` naming `what`.
 */
export async function applyInTransaction(
  client: Queryable,
  what: string,
  statements: readonly string[],
  record: { sql: string; values: unknown[] },
): Promise<void> {
  await client.query('BEGIN');
  try {
    for (const statement of statements) await client.query(statement);
    await client.query(record.sql, record.values);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK');
    const message = error instanceof Error ? error.message : String(error);
    throw new AgateError('internal', `${what} failed and was rolled back: ${message}`, {
      cause: error,
    });
  }
}
