import { uuidv7 } from 'uuidv7';
import type { Pool } from '../../src/db/index.js';
import { defaultLimits, drawSeed, prepareBatch, shapeBatch } from '../../src/events/index.js';
import type { EventTypeRegistry } from '../../src/game/index.js';
import { defaultGames, playSession } from '../../src/game/index.js';
import { chainLink, sessionRootHash } from '../../src/hashing/index.js';

/** A stored session and the sequence of its last event. */
export type LoadedSession = { sessionId: string; lastSequence: number };
export type LoadResult = { sessions: LoadedSession[]; events: number; ms: number };

export type LoadOptions = {
  tenantId: string;
  count: number;
  /** How many events session `index` (0-based) gets. */
  eventsOf: (index: number) => number;
  /** The server_time of every event (and the session's first and last event). */
  at: Date;
  seedPrefix: string;
  /** Sessions per INSERT pair (default 500). */
  chunk?: number;
};

/** The columns of one chunk, as arrays for `unnest`. */
type Chunk = {
  sessionIds: string[];
  seeds: string[];
  configs: string[];
  lastSequences: number[];
  heads: string[];
  eventIds: string[];
  eventSessions: string[];
  sequences: number[];
  types: string[];
  versions: number[];
  data: string[];
  hashes: string[];
};

const rules = 'archive-gate';

const insertSessionsSql = `
  INSERT INTO game.sessions (id, tenant_id, rules, rules_version, seed, config, last_sequence,
                             head_hash, first_event_at, last_event_at, created_at, updated_at,
                             written_by)
  SELECT u.id, $1, $2, $3, u.seed, u.config, u.last_sequence, decode(u.head, 'hex'), $4, $4, $4, $4,
         'library'
    FROM unnest($5::uuid[], $6::text[], $7::jsonb[], $8::bigint[], $9::text[])
         AS u(id, seed, config, last_sequence, head)`;

const insertEventsSql = `
  INSERT INTO game.events (event_id, tenant_id, session_id, sequence, event_type, event_version,
                           event_data, server_time, hash, written_by)
  SELECT u.event_id, $1, u.session_id, u.sequence, u.event_type, u.event_version, u.event_data, $2,
         decode(u.hash, 'hex'), 'library'
    FROM unnest($3::uuid[], $4::uuid[], $5::bigint[], $6::text[], $7::int[], $8::jsonb[], $9::text[])
         AS u(event_id, session_id, sequence, event_type, event_version, event_data, hash)`;

function gateRegistry(): { registry: EventTypeRegistry; rulesVersion: number } {
  const rulesVersion = defaultGames.eventTypes.latestRulesVersion(rules);
  const registry =
    rulesVersion === undefined ? undefined : defaultGames.eventTypes.find(rules, rulesVersion);
  if (rulesVersion === undefined || registry === undefined) {
    throw new Error(`${rules} is not among the default games`);
  }
  return { registry, rulesVersion };
}

function emptyChunk(): Chunk {
  return {
    sessionIds: [],
    seeds: [],
    configs: [],
    lastSequences: [],
    heads: [],
    eventIds: [],
    eventSessions: [],
    sequences: [],
    types: [],
    versions: [],
    data: [],
    hashes: [],
  };
}

/**
 * One bot-played session, prepared exactly as the store would (validated data, content hashes)
 * and chained from its root hash as `game.append_events` chains it: sha256(prev || seq || content).
 */
function addSession(chunk: Chunk, options: LoadOptions, index: number): LoadedSession {
  const { registry, rulesVersion } = gateRegistry();
  const sessionId = uuidv7();
  const seed = `${options.seedPrefix}-${index}`;
  const config = registry.configSchema.parse({});
  const inputs = playSession(seed, config, options.eventsOf(index), `${seed}-bot`);
  const prepared = prepareBatch(registry, shapeBatch(inputs, defaultLimits), {
    seedFor: () => drawSeed(),
    recordedSeeds: true,
  });
  const identity = { sessionId, tenantId: options.tenantId, seed, rules, rulesVersion };
  let head = sessionRootHash(identity);
  prepared.forEach((event, i) => {
    head = chainLink(head, i + 1, Buffer.from(event.contentHash, 'hex'));
    chunk.eventIds.push(event.eventId);
    chunk.eventSessions.push(sessionId);
    chunk.sequences.push(i + 1);
    chunk.types.push(event.type);
    chunk.versions.push(event.version);
    chunk.data.push(JSON.stringify(event.data));
    chunk.hashes.push(head.toString('hex'));
  });
  chunk.sessionIds.push(sessionId);
  chunk.seeds.push(seed);
  chunk.configs.push(JSON.stringify(config));
  chunk.lastSequences.push(prepared.length);
  chunk.heads.push(head.toString('hex'));
  return { sessionId, lastSequence: prepared.length };
}

async function insertChunk(pool: Pool, options: LoadOptions, chunk: Chunk): Promise<void> {
  const { rulesVersion } = gateRegistry();
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query('BEGIN');
    await client.query(insertSessionsSql, [
      options.tenantId,
      rules,
      rulesVersion,
      options.at,
      chunk.sessionIds,
      chunk.seeds,
      chunk.configs,
      chunk.lastSequences,
      chunk.heads,
    ]);
    await client.query(insertEventsSql, [
      options.tenantId,
      options.at,
      chunk.eventIds,
      chunk.eventSessions,
      chunk.sequences,
      chunk.types,
      chunk.versions,
      chunk.data,
      chunk.hashes,
    ]);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {
      broken = true;
    });
    throw error;
  } finally {
    client.release(broken);
  }
}

/**
 * Bulk-loads `count` archive-gate sessions whose events all carry server_time `at`, as the owner
 * (no RLS, no after-append hooks, so no snapshots), with a valid hash chain: the same rows a game
 * server appending at `at` would have left (the logic of test/support/append-at.ts, in bulk).
 */
export async function loadSessionsAt(pool: Pool, options: LoadOptions): Promise<LoadResult> {
  const started = performance.now();
  const size = options.chunk ?? 500;
  const sessions: LoadedSession[] = [];
  for (let first = 0; first < options.count; first += size) {
    const chunk = emptyChunk();
    for (let i = first; i < Math.min(options.count, first + size); i += 1) {
      sessions.push(addSession(chunk, options, i));
    }
    await insertChunk(pool, options, chunk);
  }
  // Settles hint bits and statistics, so the first nightly run does not pay for the bulk load.
  await pool.query('VACUUM (ANALYZE) game.sessions, game.events');
  const events = sessions.reduce((sum, s) => sum + s.lastSequence, 0);
  return { sessions, events, ms: performance.now() - started };
}
