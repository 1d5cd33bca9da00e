import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromPgError } from '../../src/db/index.js';
import { createTestDatabase } from '../support/test-database.js';
import type { TestDatabase } from '../support/test-database.js';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase({ max: 4 });
  await db.pool.query('CREATE TABLE deadlock_probe (id int PRIMARY KEY, n int NOT NULL)');
  await db.pool.query('INSERT INTO deadlock_probe VALUES (1, 0), (2, 0)');
});

afterAll(async () => {
  await db.drop();
});

describe('fromPgError for conflicts PostgreSQL resolves by aborting a transaction', () => {
  it('maps a real deadlock to unavailable, retryable, naming that nothing was stored', async () => {
    const a = await db.pool.connect();
    const b = await db.pool.connect();
    try {
      await a.query('BEGIN');
      await b.query('BEGIN');
      await a.query('UPDATE deadlock_probe SET n = n + 1 WHERE id = 1');
      await b.query('UPDATE deadlock_probe SET n = n + 1 WHERE id = 2');
      // Each now waits for the other's row: PostgreSQL aborts one of them after deadlock_timeout.
      const outcomes = await Promise.allSettled([
        a.query('UPDATE deadlock_probe SET n = n + 1 WHERE id = 2'),
        b.query('UPDATE deadlock_probe SET n = n + 1 WHERE id = 1'),
      ]);
      const failed = outcomes.filter((o) => o.status === 'rejected');
      expect(failed).toHaveLength(1);
      const mapped = fromPgError((failed[0] as PromiseRejectedResult).reason);
      expect(mapped.code).toBe('unavailable');
      expect(mapped.message).toMatch(/deadlock detected/);
      expect(mapped.message).toMatch(/nothing of it was stored/);
    } finally {
      await a.query('ROLLBACK');
      await b.query('ROLLBACK');
      a.release();
      b.release();
    }
  });

  it('maps a serialization failure the same way', async () => {
    const a = await db.pool.connect();
    const b = await db.pool.connect();
    try {
      await a.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      await a.query('SELECT n FROM deadlock_probe WHERE id = 1');
      await b.query('UPDATE deadlock_probe SET n = n + 10 WHERE id = 1');
      const error: unknown = await a
        .query('UPDATE deadlock_probe SET n = n + 1 WHERE id = 1')
        .catch((e: unknown) => e);
      const mapped = fromPgError(error);
      expect(mapped.code).toBe('unavailable');
      expect(mapped.message).toMatch(/could not serialize/);
    } finally {
      await a.query('ROLLBACK');
      a.release();
      b.release();
    }
  });
});
