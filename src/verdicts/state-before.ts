// Where the state that a batch is judged from comes from, cheapest first (ADR 0030): this
// process's recent states, the Redis hot state, else the newest snapshot and the tail. A cached
// state is a start, never the answer by itself: it serves as is only when its sequence is the
// session's last sequence as PostgreSQL reports it for the tenant (`selectSessionHead`, one
// statement) and, when its chain hash is known, the session's head hash is that hash; an older
// one is brought forward in a tenant read transaction by folding the stored tail, whose first
// link must extend its chain hash. A recent state that fails either check is dropped and the
// snapshot path answers.
import type { Redis } from 'ioredis';
import type { CacheHealth } from '../cache/index.js';
import { fetchHotState } from '../cache/index.js';
import { isAgateError } from '../errors/index.js';
import { withTenant } from '../db/index.js';
import type { Pool, PoolClient } from '../db/index.js';
import { notFound, selectSession, selectSessionHead } from '../events/index.js';
import type { Session } from '../events/index.js';
import type { GameCatalog, GameRules } from '../game/index.js';
import { createFolder, foldForward, foldFromSnapshot, foldSessionOf } from '../../replay/index.js';
import type { Folder, FoldStart } from '../../replay/index.js';
import type { RecentState, RecentStates } from './recent-states.js';

export type StateSource = 'recent' | 'hot' | 'snapshot';

export type StateBefore = { session: Session; folder: Folder; source: StateSource };

export type StateSources = {
  pool: Pool;
  games: GameCatalog;
  recent: RecentStates;
  redis: { client: Redis; health: CacheHealth } | null;
};

export type StateRef = { tenantId: string; sessionId: string; rules: GameRules };

/** A cached start, read before the transaction (Redis is never waited on inside one). */
type CachedStart = { source: 'recent' | 'hot'; entry: RecentState };

async function cachedStart(
  sources: StateSources,
  ref: StateRef,
  after: number | undefined,
): Promise<CachedStart | undefined> {
  const recent = sources.recent.get(ref.tenantId, ref.sessionId);
  if (recent !== undefined && (after === undefined || recent.sequence <= after)) {
    return { source: 'recent', entry: recent };
  }
  if (sources.redis === null) return undefined;
  const hot = await fetchHotState(sources.redis.client, sources.redis.health, ref);
  if (hot === undefined || hot.sequence === 0) return undefined;
  if (after !== undefined && hot.sequence > after) return undefined;
  return { source: 'hot', entry: { sequence: hot.sequence, chainHash: null, state: hot.state } };
}

/**
 * The cached start as the session row allows it: 'unusable' when it is past the target or the
 * target is a retry's (not the head), 'broken' when it does not match the log.
 */
async function fromCached(
  tx: PoolClient,
  ref: StateRef,
  session: Session,
  cached: CachedStart,
  target: number,
): Promise<Folder | 'unusable' | 'broken'> {
  const { entry } = cached;
  if (entry.sequence > target) return 'unusable';
  const start = startOf(entry);
  if (entry.sequence === target) {
    // Only the head can be compared without a read: a retry's earlier target takes the snapshot path.
    if (target !== session.lastSequence) return 'unusable';
    if (entry.chainHash !== null && entry.chainHash !== session.headHash) return 'broken';
    return createFolder(ref.rules, foldSessionOf(session), start);
  }
  try {
    return await foldForward(tx, ref.rules, session, start, target);
  } catch (error) {
    if (!isAgateError(error, 'integrity_violation')) throw error;
    return 'broken';
  }
}

function startOf(entry: RecentState): FoldStart {
  return {
    sequence: entry.sequence,
    state: entry.state,
    ...(entry.chainHash === null ? {} : { previousHash: Buffer.from(entry.chainHash, 'hex') }),
  };
}

/** The cached state itself when the session row says it is current (the usual, warm case). */
async function currentCached(
  sources: StateSources,
  ref: StateRef,
  cached: CachedStart,
): Promise<StateBefore | 'stale' | 'broken'> {
  const session = await selectSessionHead(sources.pool, ref.tenantId, ref.sessionId);
  if (session === undefined) throw notFound(ref.sessionId);
  const { entry } = cached;
  if (entry.sequence !== session.lastSequence) return 'stale';
  if (entry.chainHash !== null && entry.chainHash !== session.headHash) return 'broken';
  const folder = createFolder(ref.rules, foldSessionOf(session), startOf(entry));
  return { session, folder, source: cached.source };
}

async function inTransaction(
  tx: PoolClient,
  sources: StateSources,
  ref: StateRef,
  cached: CachedStart | undefined,
  after: number | undefined,
): Promise<StateBefore> {
  if (cached !== undefined) {
    const session = await selectSession(tx, ref.sessionId);
    if (session === undefined) throw notFound(ref.sessionId);
    const folder = await fromCached(tx, ref, session, cached, after ?? session.lastSequence);
    if (typeof folder !== 'string') return { session, folder, source: cached.source };
    if (folder === 'broken' && cached.source === 'recent') {
      sources.recent.delete(ref.tenantId, ref.sessionId);
    }
  }
  const { session, folder } = await foldFromSnapshot(tx, sources.games, ref.sessionId, after);
  return { session, folder, source: 'snapshot' };
}

/**
 * The session's state at `after` (default: its last sequence). A current cached state costs one
 * statement; anything else one read transaction in the tenant's context. Throws
 * `session_not_found`, and `integrity_violation` when the log itself is broken between the
 * snapshot and the target.
 */
export async function stateBefore(
  sources: StateSources,
  ref: StateRef,
  after: number | undefined,
): Promise<StateBefore> {
  let cached = await cachedStart(sources, ref, after);
  if (cached !== undefined && after === undefined) {
    const current = await currentCached(sources, ref, cached);
    if (typeof current !== 'string') return current;
    if (current === 'broken') {
      if (cached.source === 'recent') sources.recent.delete(ref.tenantId, ref.sessionId);
      cached = undefined;
    }
  }
  const start = cached;
  return withTenant(sources.pool, { tenantId: ref.tenantId }, (tx) =>
    inTransaction(tx, sources, ref, start, after),
  );
}
