import { AgateError } from '../errors/index.js';
import { defaultReplicaWaitMs } from '../placements/index.js';

/**
 * How long a command waits for a placement's replica to catch up before reading the primary
 * (AGATE_REPLICA_WAIT_MS, milliseconds, 0 to 60000, as `agate serve` reads it; ADR 0033).
 */
export function replicaWaitMsOf(env: NodeJS.ProcessEnv): number {
  const raw = env.AGATE_REPLICA_WAIT_MS?.trim();
  if (raw === undefined || raw === '') return defaultReplicaWaitMs;
  const ms = /^\d{1,5}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(ms <= 60_000)) {
    throw new AgateError(
      'invalid_config',
      `AGATE_REPLICA_WAIT_MS must be a whole number of milliseconds from 0 to 60000, not "${raw}".`,
    );
  }
  return ms;
}
