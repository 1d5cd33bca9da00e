import fc from 'fast-check';
import { createFolder, upcastEvent } from '../../replay/index.js';
import type { ReplayEvent } from '../../replay/index.js';
import type { GameRules, Verdict } from '../game/index.js';
import { describeEvent, generatedSessions, storedSession } from './generated-session.js';
import type { GeneratedSession, PropertyInput } from './generated-session.js';

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function checkVerdict(rules: GameRules, verdict: Verdict, event: ReplayEvent): void {
  if (verdict.accepted === true) return;
  if (verdict.accepted !== false || !rules.rejectReasons.includes(verdict.reason)) {
    throw new Error(
      `verdict on ${describeEvent(event)} is ${JSON.stringify(verdict)}, and its reason is not one of rejectReasons (${rules.rejectReasons.join(', ') || 'none'}): list every reason code verdict can give.`,
    );
  }
}

/**
 * `evolve`, `verdict` and `score` never throw on any session of events the schemas accept
 * (actions the rules refuse included: those fold as rejected); every verdict is accepted or
 * rejected with a reason listed in `rules.rejectReasons`; every score is a safe integer.
 */
export function rejectionsNeverThrow(
  input: PropertyInput,
): fc.IPropertyWithHooks<[GeneratedSession]> {
  const { rules } = input;
  return fc.property(generatedSessions(input), (generated) => {
    const stored = storedSession(rules, generated);
    const folder = createFolder(rules, stored.session);
    for (const event of stored.events) {
      const before = folder.state;
      try {
        folder.apply(event);
      } catch (error) {
        throw new Error(
          `evolve threw on ${describeEvent(event)}: ${messageOf(error)}. Fold a refused action as rejected instead of throwing.`,
          { cause: error },
        );
      }
      let verdict: Verdict;
      try {
        verdict = rules.verdict(before, folder.state, upcastEvent(rules, event));
      } catch (error) {
        throw new Error(`verdict threw on ${describeEvent(event)}: ${messageOf(error)}.`, {
          cause: error,
        });
      }
      checkVerdict(rules, verdict, event);
      let score: number;
      try {
        score = rules.score(folder.state);
      } catch (error) {
        throw new Error(`score threw after ${describeEvent(event)}: ${messageOf(error)}.`, {
          cause: error,
        });
      }
      if (!Number.isSafeInteger(score)) {
        throw new Error(
          `score after ${describeEvent(event)} is ${score}, not a safe integer: leaderboards rank integers.`,
        );
      }
    }
  });
}
