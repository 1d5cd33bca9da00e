import type { LeaderboardEntry } from '../cache/index.js';
import { divergencesOf } from '../jobs/nightly/index.js';
import type { NightlyResult } from '../jobs/nightly/index.js';
import type { CheckedSession, DemoDivergence, FromSnapshot } from './check-demo-session.js';
import type { PlayedSession } from './play-demo-session.js';

export type DemoNightly =
  | {
      ran: true;
      boundary: string;
      daySnapshots: number;
      audit: { sessions: number; snapshots: number; divergences: number };
      intervalSnapshots: number;
      anchors: number;
    }
  | { ran: false; message: string };

/** What `agate demo` reports; `sessions`, `snapshots`, `verified` and `divergences` are a contract. */
export type DemoSummary = {
  seed: string;
  tenantId: string;
  rules: string;
  /** In the order of their index (the same on every run of a seed); ids differ between runs. */
  sessions: { index: number; id: string; events: number; stateHash: string; verified: boolean }[];
  /** The demo tenant's stored snapshots, after the nightly job. */
  snapshots: number;
  /** Sessions whose replay from genesis verified, and agreed with the other two computations. */
  verified: number;
  divergences: DemoDivergence[];
  /** Every session: genesis replay == replay from its newest snapshot == the game server's fold. */
  replaysEqual: boolean;
  events: number;
  gameDays: number;
  batches: number;
  retriedBatches: number;
  concurrency: number;
  eventsPerSecond: number;
  fromSnapshot: { sessions: number; eventsReplayed: number };
  fromGenesis: { eventsReplayed: number };
  nightly: DemoNightly;
  leaderboard: (LeaderboardEntry & { index: number | null })[];
  queue: boolean;
  durationsMs: Record<string, number>;
};

export function nightlyPart(result: NightlyResult): DemoNightly {
  if (!result.ran) return { ran: false, message: result.message };
  const s = result.summary;
  return {
    ran: true,
    boundary: s.boundary,
    daySnapshots: s.daySnapshots.targets,
    audit: {
      sessions: s.audit.sessions,
      snapshots: s.audit.snapshots,
      divergences: divergencesOf(s).length,
    },
    intervalSnapshots: s.intervalSnapshots.targets,
    anchors: s.anchors.recorded,
  };
}

const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);

export type DemoParts = {
  seed: string;
  tenantId: string;
  rules: string;
  concurrency: number;
  queue: boolean;
  played: PlayedSession[];
  fromSnapshot: FromSnapshot[];
  checked: CheckedSession[];
  snapshots: number;
  nightly: DemoNightly;
  leaderboard: LeaderboardEntry[];
  durationsMs: Record<string, number>;
};

export function summarize(parts: DemoParts): DemoSummary {
  const { played, checked, fromSnapshot } = parts;
  const events = sum(played.map((p) => p.events));
  const playMs = parts.durationsMs.sessions ?? 0;
  const indexOf = new Map(checked.map((c) => [c.id, c.index]));
  const divergences = checked.flatMap((c) => c.divergences);
  return {
    seed: parts.seed,
    tenantId: parts.tenantId,
    rules: parts.rules,
    sessions: checked.map(({ index, id, events: n, stateHash, verified }) => ({
      index,
      id,
      events: n,
      stateHash,
      verified,
    })),
    snapshots: parts.snapshots,
    verified: checked.filter((c) => c.verified).length,
    divergences,
    replaysEqual: !divergences.some((d) => d.kind === 'replays_differ'),
    events,
    gameDays: sum(checked.map((c) => c.gameDays)),
    batches: sum(played.map((p) => p.batches)),
    retriedBatches: sum(played.map((p) => p.retriedBatches)),
    concurrency: parts.concurrency,
    eventsPerSecond: playMs > 0 ? Math.round((events * 1000) / playMs) : 0,
    fromSnapshot: {
      sessions: fromSnapshot.filter((f) => f.snapshotSequence !== null).length,
      eventsReplayed: sum(fromSnapshot.map((f) => f.eventsReplayed)),
    },
    fromGenesis: { eventsReplayed: sum(checked.map((c) => c.eventsReplayed)) },
    nightly: parts.nightly,
    leaderboard: parts.leaderboard.map((e) => ({ ...e, index: indexOf.get(e.sessionId) ?? null })),
    queue: parts.queue,
    durationsMs: parts.durationsMs,
  };
}
