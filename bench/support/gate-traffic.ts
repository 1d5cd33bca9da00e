// Real archive-gate traffic for the append rows: bot-played sessions, day ends and all, each
// worker playing its own sessions and starting a new one (created in the window, as a game server
// does) when one is played out.
import { playSession } from '../../src/game/index.js';
import type { GateEventInput } from '../../src/game/index.js';
import type { CallOutcome, WorkerCall } from './run-workers.js';

/** Events each bot session is played for before its lane moves on to a new session. */
export const sessionEvents = 200;
/** Distinct seeds (and bot plans, computed once each); sessions reuse them round robin. */
const seedCount = 64;
const dayEnd = 'day.ended';

/** What was acknowledged per session: its last sequence and the sequences of its day ends. */
export type Ledger = Map<string, { last: number; dayEnds: number[] }>;

export type LaneBatch = { sessionId: string; events: GateEventInput[] };

/** How a scenario reaches agate: the library, or the typed client over HTTP. */
export type GateTransport = {
  createSession(seed: string): Promise<string>;
  /** Each batch's last sequence after the append, or what went wrong with it. */
  append(batches: readonly LaneBatch[]): Promise<Array<number | string>>;
};

export type GateTraffic = {
  ledger: Ledger;
  /** Creates every lane's first session (before the clock starts). */
  prepare(): Promise<void>;
  call: WorkerCall;
  acked(): number;
};

type Lane = { sessionId: string; plan: readonly GateEventInput[]; next: number };

/**
 * Over HTTP a day.ended goes without its seed (the server draws it, ADR 0013); the library rows
 * pass the bot's recorded seed, as an import or a replaying server does.
 */
export function withoutSeeds(events: readonly GateEventInput[]): GateEventInput[] {
  return events.map((e) => {
    if (e.type !== dayEnd) return e;
    const data = { ...e.data };
    delete data.seed;
    return { ...e, data };
  });
}

const plans = new Map<string, readonly GateEventInput[]>();

/** The bot's plan for seed number `n` (mod seedCount), memoised. */
export function gatePlan(
  prefix: string,
  n: number,
): { seed: string; plan: readonly GateEventInput[] } {
  const seed = `${prefix}-${n % seedCount}`;
  let plan = plans.get(seed);
  if (plan === undefined) {
    plan = playSession(seed, {}, sessionEvents, `${seed}-bot`);
    plans.set(seed, plan);
  }
  return { seed, plan };
}

/**
 * `clients` workers with `lanes` sessions each; every call appends the next `batch` events of
 * each of the worker's lanes (one request for all of them when the transport sends many).
 */
export function gateTraffic(
  transport: GateTransport,
  options: {
    clients: number;
    lanes: number;
    batch: number;
    seedPrefix: string;
    stripSeeds: boolean;
  },
): GateTraffic {
  const ledger: Ledger = new Map();
  const workers: Lane[][] = [];
  let created = 0;
  let acked = 0;
  async function newLane(): Promise<Lane> {
    const { seed, plan } = gatePlan(options.seedPrefix, created);
    created += 1;
    const sessionId = await transport.createSession(seed);
    ledger.set(sessionId, { last: 0, dayEnds: [] });
    return { sessionId, plan: options.stripSeeds ? withoutSeeds(plan) : plan, next: 0 };
  }
  async function prepare(): Promise<void> {
    for (let w = 0; w < options.clients; w += 1) {
      const lanes: Lane[] = [];
      for (let l = 0; l < options.lanes; l += 1) lanes.push(await newLane());
      workers.push(lanes);
    }
  }
  async function call(worker: number): Promise<CallOutcome> {
    const lanes = workers[worker] ?? [];
    for (let l = 0; l < lanes.length; l += 1) {
      if ((lanes[l] as Lane).next >= (lanes[l] as Lane).plan.length) lanes[l] = await newLane();
    }
    const batches = lanes.map((lane) => ({
      sessionId: lane.sessionId,
      events: lane.plan.slice(lane.next, lane.next + options.batch),
    }));
    const results = await transport.append(batches);
    const errors: string[] = [];
    results.forEach((result, i) => {
      const lane = lanes[i] as Lane;
      const batch = batches[i] as LaneBatch;
      if (typeof result === 'string') {
        errors.push(result);
        return;
      }
      const entry = ledger.get(lane.sessionId) ?? { last: 0, dayEnds: [] };
      const first = result - batch.events.length + 1;
      batch.events.forEach((e, k) => {
        if (e.type === dayEnd) entry.dayEnds.push(first + k);
      });
      entry.last = result;
      ledger.set(lane.sessionId, entry);
      lane.next += batch.events.length;
      acked += batch.events.length;
    });
    return errors.length === 0 ? { ok: true } : { ok: false, error: errors.join('; ') };
  }
  return { ledger, prepare, call, acked: () => acked };
}
