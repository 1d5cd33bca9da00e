import { createFolder, stateHash } from '../../replay/index.js';
import type { FoldSession, ReplayEvent } from '../../replay/index.js';
import type { GameRules } from '../../src/game/index.js';

export type Paths = {
  /** The hash after every event, as a game server folding live would see it. */
  live: string[];
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
): Paths {
  const live = createFolder(rules, session);
  const states = new Map<number, string>();
  const hashes: string[] = [];
  for (const event of events) {
    live.apply(event);
    hashes.push(stateHash(live.state));
    if (cuts.includes(event.sequence)) states.set(event.sequence, JSON.stringify(live.state));
  }
  const genesis = createFolder(rules, session);
  for (const event of events) genesis.apply(event);
  const fromSnapshots = [...states].map(([at, json]) => {
    const folder = createFolder(rules, session, {
      sequence: at,
      state: JSON.parse(json) as unknown,
    });
    for (const event of events.slice(at)) folder.apply(event);
    return { at, hash: stateHash(folder.state) };
  });
  return { live: hashes, genesis: stateHash(genesis.state), fromSnapshots };
}

/** The cut points a real store would snapshot at: every 50th event and the game's day ends. */
export function snapshotCuts(rules: GameRules, events: readonly ReplayEvent[]): number[] {
  return events
    .filter((e) => e.sequence % 50 === 0 || rules.dayBoundaryTypes.includes(e.type))
    .map((e) => e.sequence);
}

export function pathsAgree(paths: Paths): boolean {
  const final = paths.live.at(-1);
  return paths.genesis === final && paths.fromSnapshots.every((s) => s.hash === final);
}
