import type { GameEvent } from 'agate';
import type { CropName } from './balance.js';
import { cropHarvestedV1, cropPlantedV2, harvestEventTypes, roundEndedV1 } from './event-types.js';

/** A folded event, checked against the newest schema of its type and typed. */
export type HarvestAction =
  | { type: 'round.started' }
  | { type: 'crop.planted'; field: number; crop: CropName }
  | { type: 'crop.harvested'; field: number }
  | { type: 'round.ended' }
  | { type: 'session.ended' };

/**
 * The action an event stands for, or undefined when its data does not match the newest schema
 * of its type (the store validated it, so only a hand-made event gets there).
 */
export function toAction(event: GameEvent): HarvestAction | undefined {
  if (harvestEventTypes.latestVersion(event.type) !== event.version) return undefined;
  switch (event.type) {
    case 'round.started':
    case 'session.ended':
      return harvestEventTypes.find(event.type, event.version)?.schema.safeParse(event.data)
        .success === true
        ? { type: event.type }
        : undefined;
    case 'crop.planted': {
      const parsed = cropPlantedV2.safeParse(event.data);
      return parsed.success ? { type: event.type, ...parsed.data } : undefined;
    }
    case 'crop.harvested': {
      const parsed = cropHarvestedV1.safeParse(event.data);
      return parsed.success ? { type: event.type, field: parsed.data.field } : undefined;
    }
    case 'round.ended':
      return roundEndedV1.safeParse(event.data).success ? { type: event.type } : undefined;
    default:
      return undefined;
  }
}
