import fc from 'fast-check';
import { createFolder, foldAll, stateHash } from '../../replay/index.js';
import type { GameRules } from '../game/index.js';
import { describeEvent, generatedSessions, storedSession } from './generated-session.js';
import type { GeneratedSession, PropertyInput, StoredSession } from './generated-session.js';

/** The hash and snapshot (JSON, as stored) of the live state at every sequence, 0 the initial. */
function liveFold(rules: GameRules, stored: StoredSession): { hashes: string[]; json: string[] } {
  const live = createFolder(rules, stored.session);
  const hashes = [stateHash(live.state)];
  const json = [JSON.stringify(live.state)];
  for (const event of stored.events) {
    live.apply(event);
    hashes.push(stateHash(live.state));
    json.push(JSON.stringify(live.state));
  }
  return { hashes, json };
}

function resume(rules: GameRules, stored: StoredSession, json: readonly string[], at: number) {
  return createFolder(rules, stored.session, {
    sequence: at,
    state: JSON.parse(json[at] ?? 'null') as unknown,
  });
}

/**
 * Live fold == replay from genesis == any snapshot + tail, with agate's own fold (upcasting,
 * per-event rng) and state hash. The live fold folds event by event, as a game server's hot
 * state does; genesis replays the whole session; every snapshot (the live state through JSON, as
 * stored) resumed with its next event must give the live state there, and the snapshots at every
 * 50th event and at one drawn sequence are resumed to the end.
 */
export function foldEqualsReplay(
  input: PropertyInput,
): fc.IPropertyWithHooks<[GeneratedSession, number]> {
  const { rules } = input;
  return fc.property(generatedSessions(input), fc.nat(), (generated, pick) => {
    const stored = storedSession(rules, generated);
    const { hashes, json } = liveFold(rules, stored);
    const last = stored.events.length;
    const genesis = foldAll(rules, stored.session, stored.events).stateHash;
    if (genesis !== hashes[last]) {
      throw new Error(
        `Replay from genesis gives state hash ${genesis}, the live fold ${hashes[last]} after ${last} events: the rules depend on something besides the state, the event and its rng.`,
      );
    }
    stored.events.forEach((event, i) => {
      const folder = resume(rules, stored, json, i);
      folder.apply(event);
      const hash = stateHash(folder.state);
      if (hash !== hashes[i + 1]) {
        throw new Error(
          `The snapshot at sequence ${i} plus ${describeEvent(event)} gives state hash ${hash}, the live fold ${hashes[i + 1]}: something the fold needs is not in the state (an rng stream kept outside it, a cache).`,
        );
      }
    });
    const drawn = pick % (last + 1);
    const fifties = stored.events.map((e) => e.sequence).filter((s) => s % 50 === 0 && s < last);
    const tails = [drawn, ...fifties.filter((s) => s !== drawn)];
    for (const at of tails) {
      const folder = resume(rules, stored, json, at);
      for (const event of stored.events.slice(at)) folder.apply(event);
      const hash = stateHash(folder.state);
      if (hash !== hashes[last]) {
        throw new Error(
          `The snapshot at sequence ${at} plus the ${last - at} events after it gives state hash ${hash}, the live fold ${hashes[last]}.`,
        );
      }
    }
  });
}
