import type { GameEvent, GameRules } from '../src/game/index.js';

/**
 * Brings a stored event to the newest version of its type through the rules' upcasters, one
 * version at a time. A version with no upcaster stays as stored (the rules then see it as is).
 */
export function upcastEvent(rules: GameRules, event: GameEvent): GameEvent {
  const latest = rules.eventTypes.latestVersion(event.type) ?? event.version;
  let current = event;
  while (current.version < latest) {
    const from = current.version;
    const step = rules.upcasters.find((u) => u.type === current.type && u.fromVersion === from);
    if (step === undefined) return current;
    current = { ...current, version: from + 1, data: step.upcast(current.data) };
  }
  return current;
}
