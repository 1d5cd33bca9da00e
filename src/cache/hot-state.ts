import type { Redis } from 'ioredis';
import { stateHash } from '../../replay/index.js';
import type { CacheHealth } from './cache-health.js';
import { hotStateKey } from './cache-keys.js';
import { tryRedis } from './redis-client.js';

/** A session's state at a sequence, as the hot cache holds it. */
export type HotState = { sequence: number; stateHash: string; state: unknown };
export type HotStateRef = { tenantId: string; sessionId: string };
export type HotStateWrite = HotStateRef & HotState;
export type HotStateWriteOptions = {
  /** Also replace an entry at the same sequence (the caller replayed it, so it is the truth). */
  replaceSameSequence?: boolean;
  ttlSeconds?: number;
};
export type HotStateWriteResult = 'written' | 'not_newer' | 'failed';

export const hotStateTtlSeconds = 86_400;

/*
 * Compare-and-set on the entry's sequence, in one script so concurrent writers cannot interleave.
 * The value is JSON that starts with `{"sequence":N` (writeHotState serialises it so), so the
 * stored sequence is read without decoding the state. Anything else there is overwritten.
 */
const writeIfNewerScript = `
local current = redis.call('GET', KEYS[1])
if current then
  local stored = tonumber(string.match(current, '^{"sequence":(%d+)[,}]'))
  local incoming = tonumber(ARGV[1])
  if stored and (stored > incoming or (stored == incoming and ARGV[4] ~= '1')) then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1
`;

/**
 * Writes the entry only if the key is empty or holds an older sequence (with
 * `replaceSameSequence`, also the same sequence), so a late writer never rolls the state back.
 * Best effort: a Redis failure is counted and reported as 'failed', never thrown.
 */
export async function writeHotState(
  redis: Redis,
  health: CacheHealth,
  input: HotStateWrite,
  options: HotStateWriteOptions = {},
): Promise<HotStateWriteResult> {
  const value = JSON.stringify({
    sequence: input.sequence,
    stateHash: input.stateHash,
    state: input.state,
  });
  const written = await tryRedis(redis, health, (r) =>
    r.eval(
      writeIfNewerScript,
      1,
      hotStateKey(input.tenantId, input.sessionId),
      input.sequence,
      value,
      options.ttlSeconds ?? hotStateTtlSeconds,
      options.replaceSameSequence === true ? '1' : '0',
    ),
  );
  if (!written.ok) return 'failed';
  return written.value === 1 ? 'written' : 'not_newer';
}

/** The entry, if it is well formed and its state hashes to its recorded hash. */
function parseEntry(raw: string): HotState | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const entry = parsed as Partial<HotState>;
  if (!Number.isSafeInteger(entry.sequence) || typeof entry.stateHash !== 'string') {
    return undefined;
  }
  if (!('state' in entry) || stateHash(entry.state) !== entry.stateHash) return undefined;
  return { sequence: entry.sequence as number, stateHash: entry.stateHash, state: entry.state };
}

/** The stored entry without counting a hit or a miss (the caller decides whether it serves). */
export async function fetchHotState(
  redis: Redis,
  health: CacheHealth,
  ref: HotStateRef,
): Promise<HotState | undefined> {
  const raw = await tryRedis(redis, health, (r) => r.get(hotStateKey(ref.tenantId, ref.sessionId)));
  if (!raw.ok || raw.value === null) return undefined;
  return parseEntry(raw.value);
}

/**
 * The cached entry, or undefined when there is none, it is malformed, or Redis failed (counted).
 * It may be older than the session: compare its sequence before serving it (`currentState` does).
 */
export async function readHotState(
  redis: Redis,
  health: CacheHealth,
  ref: HotStateRef,
): Promise<HotState | undefined> {
  const entry = await fetchHotState(redis, health, ref);
  if (entry === undefined) health.misses += 1;
  else health.hits += 1;
  return entry;
}
