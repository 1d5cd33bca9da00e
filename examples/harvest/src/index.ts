export { BLIGHT_BP, CROPS, WEATHER, WEATHER_GROWTH } from './balance.js';
export type { CropName, Weather } from './balance.js';
export { harvestConfigSchema } from './config.js';
export type { HarvestConfig } from './config.js';
export {
  cropHarvestedV1,
  cropPlantedV1,
  cropPlantedV2,
  harvestEventTypes,
  harvestUpcasters,
  roundEndedV1,
  roundStartedV1,
} from './event-types.js';
export { harvestRules, initialHarvestState } from './harvest.rules.js';
export { REJECT_REASONS } from './state.js';
export type { Field, HarvestState, RejectReason } from './state.js';
