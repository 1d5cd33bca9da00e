import { AgateError } from '../errors/index.js';
import { getSession } from '../events/index.js';
import { replaySession } from '../../replay/index.js';
import type { ReplayDeps } from '../../replay/index.js';

export type ScoreRejection = 'not_ended' | 'not_verified';
export type ScoreVerdict =
  | { accepted: true; sessionId: string; rules: string; score: number }
  | { accepted: false; sessionId: string; reason: ScoreRejection };

/**
 * The session's score as its own events earn it: only for an ended session, computed from a
 * replay from genesis with verify (every stored snapshot, the chain and the head agree). Nothing
 * cached is read: not the hot state, not a snapshot's state. Throws `session_not_found`.
 */
export async function verifyScore(
  deps: ReplayDeps,
  ref: { tenantId: string; sessionId: string },
): Promise<ScoreVerdict> {
  const session = await getSession(deps, ref);
  const sessionId = session.id;
  if (session.status !== 'ended') return { accepted: false, sessionId, reason: 'not_ended' };
  const replayed = await replaySession(deps, {
    tenantId: session.tenantId,
    sessionId,
    from: 'genesis',
    verify: true,
  });
  if (replayed.verified !== true || replayed.sequence !== session.lastSequence) {
    return { accepted: false, sessionId, reason: 'not_verified' };
  }
  const rules = deps.games.find(session.rules, replayed.rulesVersion);
  if (rules === undefined) {
    throw new AgateError(
      'unknown_rules',
      `Session ${sessionId} plays ${session.rules} v${replayed.rulesVersion}, which this build of agate does not register; score it with a build that does.`,
    );
  }
  return { accepted: true, sessionId, rules: session.rules, score: rules.score(replayed.state) };
}
