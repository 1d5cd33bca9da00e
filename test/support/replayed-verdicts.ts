import { createFolder, foldSessionOf, stateHash } from '../../replay/index.js';
import type { EventStore } from '../../src/events/index.js';
import type { GameCatalog, Verdict } from '../../src/game/index.js';

export type ReplayedVerdicts = {
  /** verdicts[s - 1]: the verdict on the event at sequence s. */
  verdicts: Verdict[];
  /** hashes[s]: the state hash at sequence s (hashes[0] the initial state's). */
  hashes: string[];
};

/** Every stored event's verdict and every state hash, by a full fold from genesis. */
export async function replayedVerdicts(
  store: EventStore,
  games: GameCatalog,
  ref: { tenantId: string; sessionId: string },
): Promise<ReplayedVerdicts> {
  const session = await store.getSession(ref);
  const rules = games.find(session.rules, session.rulesVersion);
  if (rules === undefined) throw new Error(`no rules ${session.rules}`);
  const folder = createFolder(rules, foldSessionOf(session));
  const verdicts: Verdict[] = [];
  const hashes = [stateHash(folder.state)];
  for await (const event of store.streamEvents(ref)) {
    verdicts.push(folder.judge(event));
    hashes.push(stateHash(folder.state));
  }
  return { verdicts, hashes };
}
