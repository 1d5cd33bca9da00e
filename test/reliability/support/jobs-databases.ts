import { randomBytes } from 'node:crypto';
import { uuidv7 } from 'uuidv7';
import { createPool } from '../../../src/db/index.js';
import type { Pool } from '../../../src/db/index.js';
import { defaultGames, playSession } from '../../../src/game/index.js';
import { createAgate } from '../../../src/runtime/index.js';
import { createTenant } from '../../../src/tenants/index.js';
import { appendAt } from '../../support/append-at.js';
import { urlFor, withAdmin } from '../../support/pg-admin.js';
import { createTestDatabase } from '../../support/test-database.js';
import type { TestDatabase } from '../../support/test-database.js';

const dayMs = 86_400_000;

/** A database that only serves as the template of identical copies (no connection may stay open). */
export type SeedDatabase = { name: string; sessions: number; drop(): Promise<void> };

function dropDatabase(name: string): Promise<void> {
  return withAdmin((admin) => admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(
    () => undefined,
  );
}

/**
 * Archive-gate sessions of two tenants that moved yesterday (every other one today too, one only
 * today), without snapshots: the nightly job has day-boundary and interval snapshots, an audit
 * and anchors to do. Then the pool is closed, so that the database can be copied.
 */
export async function seedNightlyDatabase(count: number): Promise<SeedDatabase> {
  const db = await createTestDatabase();
  try {
    await seedSessions(db, count);
  } catch (error) {
    await db.drop();
    throw error;
  }
  await db.pool.end();
  return { name: db.name, sessions: count, drop: () => dropDatabase(db.name) };
}

async function seedSessions(db: TestDatabase, count: number): Promise<void> {
  const agate = createAgate({ pool: db.pool, games: defaultGames, consumers: false });
  const tenants = [
    (await createTenant(db.pool, { name: 'jobs a', actor: 'test' })).id,
    (await createTenant(db.pool, { name: 'jobs b', actor: 'test' })).id,
  ];
  const yesterday = new Date(Date.now() - dayMs);
  for (let i = 0; i < count; i += 1) {
    const tenantId = tenants[i % 2] ?? '';
    const seed = `jobs-${i}-${uuidv7()}`;
    const session = await agate.store.createSession({ tenantId, rules: 'archive-gate', seed });
    // 30 to 353 events: interval snapshots for most, and within one append's limit.
    const events = playSession(seed, {}, 30 + (i % 20) * 17, 'bot');
    const split = events.length - (i === count - 1 ? events.length : i % 2 === 0 ? 3 : 0);
    if (split > 0) await appendAt(db.pool, session, yesterday, events.slice(0, split));
    if (split < events.length) {
      const result = await agate.store.appendEvents({
        tenantId,
        sessionId: session.id,
        events: events.slice(split),
        recordedSeeds: true,
      });
      if (!result.ok) throw new Error(`seeding failed: ${result.message}`);
    }
  }
}

/** A database created from the seed as its template: the same rows, ids and timestamps. */
export async function copyOf(seed: SeedDatabase): Promise<TestDatabase> {
  const name = `agate_t_${randomBytes(6).toString('hex')}`;
  await withAdmin((admin) => admin.query(`CREATE DATABASE ${name} TEMPLATE ${seed.name}`));
  const url = urlFor(name);
  const pool = createPool({ connectionString: url, max: 6 });
  return {
    name,
    url,
    pool,
    async drop() {
      await pool.end();
      await dropDatabase(name);
    },
  };
}

/**
 * What the nightly job leaves, read as the owner without anything a run draws afresh (ids, run
 * ids, timestamps): every snapshot with its state hash, every anchor, the audit entries by actor,
 * action and tenant, and the partitions.
 */
export async function nightlyEndState(pool: Pool) {
  const snapshots = await pool.query<Record<string, unknown>>(
    `SELECT session_id, sequence::int AS sequence, reason, rules_version, encode(state_hash, 'hex') AS state_hash
       FROM game.snapshots ORDER BY session_id, sequence`,
  );
  const anchors = await pool.query<Record<string, unknown>>(
    `SELECT tenant_id, subject, details->>'sequence' AS sequence, details->>'headHash' AS head_hash,
            details->>'boundary' AS boundary
       FROM admin.audit_log WHERE action = 'anchor.recorded' ORDER BY subject, (details->>'sequence')::int`,
  );
  const audit = await pool.query<Record<string, unknown>>(
    `SELECT actor, action, tenant_id, count(*)::int AS entries
       FROM admin.audit_log GROUP BY actor, action, tenant_id ORDER BY actor, action, tenant_id`,
  );
  const partitions = await pool.query<{ name: string }>(
    `SELECT c.oid::regclass::text AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      ORDER BY 1`,
  );
  return {
    snapshots: snapshots.rows,
    anchors: anchors.rows,
    audit: audit.rows,
    partitions: partitions.rows.map((r) => r.name),
  };
}

export type NightlyEndState = Awaited<ReturnType<typeof nightlyEndState>>;

/** Replays every session from genesis with verify (chain, every snapshot, anchors, head). */
export async function sessionsThatDoNotVerify(pool: Pool): Promise<string[]> {
  const agate = createAgate({ pool, games: defaultGames, consumers: false });
  const sessions = await pool.query<{ id: string; tenant_id: string }>(
    'SELECT id, tenant_id FROM game.sessions ORDER BY id',
  );
  const failed: string[] = [];
  for (const s of sessions.rows) {
    const result = await agate.replay({ tenantId: s.tenant_id, sessionId: s.id, verify: true });
    if (result.verified !== true) failed.push(s.id);
  }
  return failed;
}
