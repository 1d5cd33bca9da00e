import { rngFromState } from 'agate';
import type { GameEvent, Rng } from 'agate';
import { BLIGHT_BP, CROPS, WEATHER, WEATHER_GROWTH } from './balance.js';
import type { CropName } from './balance.js';
import { toAction } from './harvest-action.js';
import { reject } from './state.js';
import type { Field, HarvestState } from './state.js';

function startRound(state: HarvestState): HarvestState {
  if (state.phase === 'open') return reject(state, 'round_already_open');
  const stream = rngFromState(state.rng);
  const weather = stream.pick(WEATHER);
  return { ...state, round: state.round + 1, phase: 'open', weather, rng: stream.state() };
}

function plant(state: HarvestState, index: number, crop: CropName): HarvestState {
  if (state.phase !== 'open') return reject(state, 'no_open_round');
  const field = state.fields[index];
  if (field === undefined) return reject(state, 'unknown_field');
  if (field.crop !== 'none') return reject(state, 'field_occupied');
  const { cost } = CROPS[crop];
  if (state.coins < cost) return reject(state, 'insufficient_coins');
  const fields = state.fields.slice();
  fields[index] = { crop, growth: 0 };
  return { ...state, coins: state.coins - cost, fields };
}

function harvest(state: HarvestState, index: number): HarvestState {
  if (state.phase !== 'open') return reject(state, 'no_open_round');
  const field = state.fields[index];
  if (field === undefined) return reject(state, 'unknown_field');
  if (field.crop === 'none') return reject(state, 'nothing_to_harvest');
  const crop = CROPS[field.crop];
  if (field.growth < crop.ripeAt) return reject(state, 'not_ripe');
  const fields = state.fields.slice();
  fields[index] = { crop: 'none', growth: 0 };
  return {
    ...state,
    coins: state.coins + crop.yield,
    score: state.score + crop.yield,
    harvests: state.harvests + 1,
    fields,
  };
}

/** The round's growth: each planted field, in order, first risks blight, then grows. */
function endRound(state: HarvestState, rng: Rng | null): HarvestState {
  if (state.phase !== 'open') return reject(state, 'no_open_round');
  if (rng === null) return reject(state, 'missing_randomness');
  let blighted = state.blighted;
  const fields = state.fields.map((field): Field => {
    if (field.crop === 'none') return field;
    if (rng.chance(BLIGHT_BP)) {
      blighted += 1;
      return { crop: 'none', growth: 0 };
    }
    return {
      crop: field.crop,
      growth: field.growth + rng.between(0, 2) + WEATHER_GROWTH[state.weather],
    };
  });
  return { ...state, phase: 'idle', fields, blighted };
}

/**
 * Folds one event into a new state; never mutates `state` and never throws. A refused action
 * changes nothing but the rejection counters. `rng` is the event's own stream (round.ended).
 */
export function evolveHarvest(
  state: HarvestState,
  event: GameEvent,
  rng: Rng | null,
): HarvestState {
  const action = toAction(event);
  if (action === undefined) return reject(state, 'invalid_event');
  if (state.phase === 'ended') return reject(state, 'session_ended');
  switch (action.type) {
    case 'round.started':
      return startRound(state);
    case 'crop.planted':
      return plant(state, action.field, action.crop);
    case 'crop.harvested':
      return harvest(state, action.field);
    case 'round.ended':
      return endRound(state, rng);
    case 'session.ended':
      return { ...state, phase: 'ended' };
  }
}
