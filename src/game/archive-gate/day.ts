import type { Rng } from '../rng.js';
import { rngFromState } from '../rng.js';
import {
  CLAIMED_ROLES,
  GREEN_FLAGS,
  INDICATORS_MAX,
  INDICATORS_MIN,
  RED_FLAG_BP_LEGIT,
  RED_FLAG_BP_MALICIOUS,
  RED_FLAGS,
  REQUESTERS,
  VALUE_MAX_TENS,
  VALUE_MIN_TENS,
} from './balance.js';
import type { GateRequest, GateState } from './state.js';

/**
 * The index in a pool of `size` names of what `rng.pick` would draw from the names not yet
 * taken (bit i of `taken` set: name i is taken), in pool order: the same single draw as picking
 * from the filtered list, without building it.
 */
function pickUntaken(rng: Rng, size: number, taken: number): number {
  let free = size;
  for (let i = 0; i < size; i += 1) if ((taken >>> i) & 1) free -= 1;
  let skip = rng.below(free);
  for (let i = 0; i < size; i += 1) {
    if ((taken >>> i) & 1) continue;
    if (skip === 0) return i;
    skip -= 1;
  }
  throw new RangeError('pickUntaken: the draw fell outside the pool');
}

/** Red flags are likelier on attacks, green ones on honest requests; no indicator twice. */
function drawIndicators(rng: Rng, malicious: boolean): string[] {
  const count = rng.between(INDICATORS_MIN, INDICATORS_MAX);
  const redBp = malicious ? RED_FLAG_BP_MALICIOUS : RED_FLAG_BP_LEGIT;
  const chosen: string[] = [];
  let takenRed = 0;
  let takenGreen = 0;
  for (let i = 0; i < count; i += 1) {
    const red = rng.chance(redBp);
    const pool = red ? RED_FLAGS : GREEN_FLAGS;
    const at = pickUntaken(rng, pool.length, red ? takenRed : takenGreen);
    if (red) takenRed |= 1 << at;
    else takenGreen |= 1 << at;
    chosen.push(pool[at] as string);
  }
  return chosen;
}

/** The draw order is part of the rules version: changing it changes every replay. */
function drawRequest(rng: Rng, day: number, n: number, maliciousRateBp: number): GateRequest {
  const requester = rng.pick(REQUESTERS);
  const claimedRole = rng.pick(CLAIMED_ROLES);
  const malicious = rng.chance(maliciousRateBp);
  const value = rng.between(VALUE_MIN_TENS, VALUE_MAX_TENS) * 10;
  const indicators = drawIndicators(rng, malicious);
  return {
    id: `d${day}-r${n}`,
    requester,
    claimedRole,
    indicators,
    revealed: 0,
    malicious,
    value,
    status: 'pending',
  };
}

/**
 * Draws day `day`'s requests from the session stream kept in `state` and returns them with the
 * stream's new state. Pure: `state` is not touched.
 */
export function drawDay(
  state: GateState,
  day: number,
): { requests: GateRequest[]; rng: GateState['rng'] } {
  const rng = rngFromState(state.rng);
  const { min, max } = state.config.requestsPerDay;
  const count = rng.between(min, max);
  const requests: GateRequest[] = [];
  for (let n = 1; n <= count; n += 1) {
    requests.push(drawRequest(rng, day, n, state.config.maliciousRateBp));
  }
  return { requests, rng: rng.state() };
}
