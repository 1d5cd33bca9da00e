import { createFolder, stateHash } from '../../replay/index.js';
import type { FoldSession, ReplayEvent } from '../../replay/index.js';
import type { GameRules } from '../../src/game/index.js';

export type Paths = {
  /** For each cut: the fold from a JSON round trip of the live state there, up to the next cut. */
  segments: { from: number; to: number; agrees: boolean }[];
  /** The final hash as a game server folding event by event (live) sees it. */
  live: string;
  /** One full replay from the initial state. */
  genesis: string;
  /** Replays from a JSON round trip of the live state at each cut (a snapshot), plus the tail. */
  fromSnapshots: { at: number; hash: string }[];
};

/** Every path to the final state that agate promises agrees: compare their hashes. */
export function foldPaths(
  rules: GameRules,
  session: FoldSession,
  events: readonly ReplayEvent[],
  cuts: readonly number[],
  fullTailsFrom: readonly number[] = cuts,
): Paths {
  const live = createFolder(rules, session);
  const states = new Map<number, string>();
  for (const event of events) {
    live.apply(event);
    if (cuts.includes(event.sequence)) states.set(event.sequence, JSON.stringify(live.state));
  }
  const genesis = createFolder(rules, session);
  for (const event of events) genesis.apply(event);
  const resume = (at: number, until: number) => {
    const folder = createFolder(rules, session, {
      sequence: at,
      state: JSON.parse(states.get(at) ?? 'null') as unknown,
    });
    for (const event of events.slice(at, until)) folder.apply(event);
    return folder.state;
  };
  // Every cut resumed up to the next cut (linear cost), and some cuts resumed to the very end.
  const ordered = [...states.keys()].sort((a, b) => a - b);
  const segments = ordered.map((from, i) => {
    const to = ordered[i + 1] ?? events.length;
    const expected = to === events.length ? JSON.stringify(live.state) : states.get(to);
    return { from, to, agrees: JSON.stringify(resume(from, to)) === expected };
  });
  const fromSnapshots = ordered
    .filter((at) => fullTailsFrom.includes(at))
    .map((at) => ({ at, hash: stateHash(resume(at, events.length)) }));
  return {
    live: stateHash(live.state),
    genesis: stateHash(genesis.state),
    segments,
    fromSnapshots,
  };
}

/** The cut points a real store would snapshot at: every 50th event and the game's day ends. */
export function snapshotCuts(rules: GameRules, events: readonly ReplayEvent[]): number[] {
  return events
    .filter((e) => e.sequence % 50 === 0 || rules.dayBoundaryTypes.includes(e.type))
    .map((e) => e.sequence);
}

export function pathsAgree(paths: Paths): boolean {
  return (
    paths.genesis === paths.live &&
    paths.segments.every((s) => s.agrees) &&
    paths.fromSnapshots.every((s) => s.hash === paths.live)
  );
}
