import { createFolder, stateHash } from '../../replay/index.js';
import type { FoldSession, ReplayEvent } from '../../replay/index.js';
import type { GameRules } from '../game/index.js';

/** A session to fold: what the fresh-process child receives. */
export type FoldInput = { session: FoldSession; events: ReplayEvent[] };

/** The state hash before the first event and after each one (index = sequence). */
export function hashesAlong(rules: GameRules, input: FoldInput): string[] {
  const folder = createFolder(rules, input.session);
  const hashes = [stateHash(folder.state)];
  for (const event of input.events) {
    folder.apply(event);
    hashes.push(stateHash(folder.state));
  }
  return hashes;
}

/** Whether `value` looks like a GameRules object (enough to fold with it). */
export function looksLikeRules(value: unknown): value is GameRules {
  if (typeof value !== 'object' || value === null) return false;
  const r = value as Record<string, unknown>;
  return (
    typeof r.name === 'string' &&
    typeof r.version === 'number' &&
    typeof r.initialState === 'function' &&
    typeof r.evolve === 'function'
  );
}
