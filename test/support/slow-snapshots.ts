import type { Pool } from '../../src/db/index.js';

/**
 * Makes every snapshot insert in this database take `seconds` longer (a trigger), so that a
 * worker or a nightly run can be caught in the middle of its batch. Every process writing to the
 * database is slowed alike; nothing else changes.
 */
export async function slowSnapshotWrites(pool: Pool, seconds: number): Promise<void> {
  await pool.query(`
    CREATE OR REPLACE FUNCTION public.test_slow_snapshot() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN PERFORM pg_sleep(${Number(seconds)}); RETURN NEW; END $$`);
  await pool.query(`
    CREATE OR REPLACE TRIGGER test_slow_snapshot BEFORE INSERT ON game.snapshots
    FOR EACH ROW EXECUTE FUNCTION public.test_slow_snapshot()`);
}
