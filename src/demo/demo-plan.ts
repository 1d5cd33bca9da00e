import { createHash } from 'node:crypto';
import { playSession, rngFromSeed } from '../game/index.js';
import type { GateEventInput, PlayOptions, Rng } from '../game/index.js';

/** The rules every demo session plays. */
export const demoRules = 'archive-gate';

/** One batch as the bot's game server sends it; `retry`: it is sent a second time, unchanged. */
export type DemoBatch = { events: GateEventInput[]; retry: boolean };

/** Everything about one demo session that its hashes depend on: a function of (seed, index) only. */
export type DemoSessionPlan = {
  index: number;
  seed: string;
  botSeed: string;
  config: Record<string, unknown>;
  play: PlayOptions;
  batches: DemoBatch[];
};

function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

function configFrom(rng: Rng): Record<string, unknown> {
  const min = rng.between(2, 5);
  return {
    startingCredits: rng.pick([500, 1000, 1500, 2500]),
    requestsPerDay: { min, max: min + rng.between(0, 3) },
    maliciousRateBp: rng.between(15, 45) * 100,
    investigateCost: rng.pick([25, 50, 75]),
  };
}

/** Sizes from 1 to 12 (a game server flushing whatever it has), about 1 in 12 of them retried. */
function batchesOf(events: readonly GateEventInput[], rng: Rng): DemoBatch[] {
  const batches: DemoBatch[] = [];
  for (let at = 0; at < events.length;) {
    const size = rng.between(1, 12);
    batches.push({ events: events.slice(at, at + size), retry: rng.chance(800) });
    at += size;
  }
  return batches;
}

/**
 * Session `index` of the demo for `seed`: its game seed, config, bot, event count (60 to 220,
 * several game days) and batching all come from sha256(seed, index), so every session's state
 * hashes depend on the seed alone, whatever the database, the timing or the order of writers.
 */
export function planDemoSession(seed: string, index: number): DemoSessionPlan {
  const root = sha256Hex(`agate-demo\u0000${seed}\u0000${index}`);
  const rng = rngFromSeed(root);
  const gameSeed = `demo-${root.slice(0, 32)}`;
  const botSeed = `bot-${root.slice(32)}`;
  const config = configFrom(rng);
  const play: PlayOptions = {
    skill: rng.between(55, 95) * 100,
    rejectedEveryN: rng.pick([0, 0, 23, 37]),
    oldVersionEveryN: rng.pick([0, 0, 4, 7]),
  };
  const eventCount = rng.between(60, 220);
  const events = playSession(gameSeed, config, eventCount, botSeed, play);
  return { index, seed: gameSeed, botSeed, config, play, batches: batchesOf(events, rng) };
}
