import type { Agate } from '../runtime/index.js';
import type { DivergenceKind } from '../../replay/index.js';
import { demoRules } from './demo-plan.js';
import type { PlayedSession } from './play-demo-session.js';

/** A divergence a replay reported, or a disagreement between the demo's ways of computing a state. */
export type DemoDivergence = {
  sessionId: string;
  kind: DivergenceKind | 'replays_differ';
  sequence: number;
  message: string;
};

export type FromSnapshot = {
  stateHash: string;
  sequence: number;
  /** The snapshot the replay started from (null: none, it started from genesis). */
  snapshotSequence: number | null;
  eventsReplayed: number;
};

export type CheckedSession = {
  index: number;
  id: string;
  events: number;
  stateHash: string;
  verified: boolean;
  score: number;
  gameDays: number;
  eventsReplayed: number;
  divergences: DemoDivergence[];
};

/** The analyst's default replay: the newest snapshot at or below the head, then the tail. */
export async function replayFromSnapshot(
  agate: Agate,
  tenantId: string,
  sessionId: string,
): Promise<FromSnapshot> {
  const r = await agate.replay({ tenantId, sessionId, from: 'snapshot' });
  return {
    stateHash: r.stateHash,
    sequence: r.sequence,
    snapshotSequence: r.snapshotUsed?.sequence ?? null,
    eventsReplayed: r.eventsReplayed,
  };
}

function daysCompleted(state: unknown): number {
  const stats = (state as { stats?: { daysCompleted?: unknown } } | null)?.stats;
  return typeof stats?.daysCompleted === 'number' ? stats.daysCompleted : 0;
}

/**
 * Replays the session from genesis with verify (the chain, every stored snapshot, the nightly
 * job's head anchors) and checks that the state agrees with the replay from a snapshot and with
 * the game server's own fold.
 */
export async function checkDemoSession(
  agate: Agate,
  tenantId: string,
  played: PlayedSession,
  fromSnapshot: FromSnapshot,
): Promise<CheckedSession> {
  const sessionId = played.id;
  const r = await agate.replay({ tenantId, sessionId, from: 'genesis', verify: true });
  const divergences: DemoDivergence[] = r.divergences.map((d) => ({
    sessionId,
    kind: d.kind,
    sequence: d.sequence,
    message: d.message,
  }));
  const others = [
    { what: 'the replay from its newest snapshot', hash: fromSnapshot.stateHash },
    { what: "the game server's own fold", hash: played.liveStateHash },
  ];
  for (const other of others.filter((o) => o.hash !== r.stateHash)) {
    divergences.push({
      sessionId,
      kind: 'replays_differ',
      sequence: r.sequence,
      message: `The replay from genesis gives state hash ${r.stateHash}, ${other.what} ${other.hash}.`,
    });
  }
  const rules = agate.games.find(demoRules, r.rulesVersion);
  return {
    index: played.index,
    id: sessionId,
    events: r.sequence,
    stateHash: r.stateHash,
    verified: r.verified === true && divergences.length === 0,
    score: rules?.score(r.state) ?? 0,
    gameDays: daysCompleted(r.state),
    eventsReplayed: r.eventsReplayed,
    divergences,
  };
}
