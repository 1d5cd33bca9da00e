import { rngFromSeed } from 'agate';
import type { Rng } from 'agate';
import { CROPS } from '../src/balance.js';
import { harvestRules, initialHarvestState } from '../src/harvest.rules.js';
import type { HarvestState } from '../src/state.js';

/** An event as a client sends it; round.ended carries the seed the server would record. */
export type BotEvent = { type: string; version: number; data: Record<string, unknown> };

export type BotOptions = {
  seed: string;
  config: Record<string, unknown>;
  events: number;
  /** Every n-th event is an action the rules refuse (0: none). */
  refuseEvery: number;
};

/** Folds a sent event as agate's replay does: upcast to the newest version, its own rng. */
function fold(state: HarvestState, event: BotEvent, sequence: number): HarvestState {
  let current = event;
  for (const step of harvestRules.upcasters) {
    if (step.type === current.type && step.fromVersion === current.version) {
      current = { ...current, version: current.version + 1, data: step.upcast(current.data) };
    }
  }
  const seed = current.data.seed;
  const rng = typeof seed === 'string' ? rngFromSeed(seed) : null;
  return harvestRules.evolve(state, { sequence, ...current }, rng);
}

function nextAction(state: HarvestState, bot: Rng): BotEvent {
  if (state.phase !== 'open') return { type: 'round.started', version: 1, data: {} };
  for (let i = 0; i < state.fields.length; i += 1) {
    const field = state.fields[i];
    if (field !== undefined && field.crop !== 'none' && field.growth >= CROPS[field.crop].ripeAt) {
      return { type: 'crop.harvested', version: 1, data: { field: i } };
    }
  }
  const empty = state.fields.findIndex((f) => f.crop === 'none');
  if (empty >= 0 && state.coins >= CROPS.wheat.cost && bot.chance(7000)) {
    // Older game servers still send crop.planted v1 (wheat); the upcaster brings it to v2.
    if (bot.chance(3000)) return { type: 'crop.planted', version: 1, data: { field: empty } };
    const crop = state.coins >= CROPS.corn.cost && bot.chance(4000) ? 'corn' : 'wheat';
    return { type: 'crop.planted', version: 2, data: { field: empty, crop } };
  }
  return { type: 'round.ended', version: 1, data: { seed: bot.below(2 ** 32).toString(16) } };
}

function refusedAction(state: HarvestState, bot: Rng): BotEvent {
  const occupied = state.fields.findIndex((f) => f.crop !== 'none');
  if (state.phase === 'open' && occupied >= 0 && bot.chance(5000)) {
    return { type: 'crop.planted', version: 2, data: { field: occupied, crop: 'wheat' } };
  }
  return { type: 'crop.harvested', version: 1, data: { field: state.config.fields } };
}

/** A deterministic session of `events` events, played from the bot's own seed. */
export function playBot(options: BotOptions): BotEvent[] {
  const bot = rngFromSeed(`bot:${options.seed}`);
  let state = initialHarvestState(
    options.seed,
    harvestRules.eventTypes.configSchema.parse(options.config),
  );
  const events: BotEvent[] = [];
  for (let n = 1; n <= options.events; n += 1) {
    const refuse = options.refuseEvery > 0 && n % options.refuseEvery === 0;
    const event = refuse ? refusedAction(state, bot) : nextAction(state, bot);
    events.push(event);
    state = fold(state, event, n);
  }
  return events;
}
