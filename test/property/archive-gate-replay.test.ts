import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { foldAll, stateHash } from '../../replay/index.js';
import { archiveGateV1 } from '../../src/game/index.js';
import type { GateState } from '../../src/game/index.js';
import { canonicalJson } from '../../src/hashing/index.js';
import { foldPaths, pathsAgree, snapshotCuts } from '../support/equivalence.js';
import { gateSessionArb, toEvents } from '../support/gate-actions.js';

describe('archive-gate replay', () => {
  // live fold == replay from genesis == replay from every snapshot (JSON round trip) + tail
  test('every path to a state agrees, for any seed, config and moves', () => {
    fc.assert(
      fc.property(gateSessionArb, fc.nat(), (g, pick) => {
        const { events } = toEvents(g);
        const cuts = snapshotCuts(archiveGateV1, events);
        // Every snapshot is resumed to the next one; the 50s and one day end also to the very end.
        const fullTails = [
          ...cuts.filter((c) => c % 50 === 0),
          cuts[pick % Math.max(1, cuts.length)] ?? 0,
        ];
        const paths = foldPaths(archiveGateV1, g.session, events, cuts, fullTails);
        expect(pathsAgree(paths)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  test('the state survives a canonical JSON round trip with its hash unchanged', () => {
    fc.assert(
      fc.property(gateSessionArb, (g) => {
        const { state, stateHash: hash } = foldAll(archiveGateV1, g.session, toEvents(g).events);
        const back = JSON.parse(canonicalJson(state)) as unknown;
        expect(back).toEqual(state);
        expect(stateHash(back)).toBe(hash);
      }),
      { numRuns: 500 },
    );
  });

  test('the generators play the game for real', () => {
    const sample = fc.sample(gateSessionArb, { numRuns: 300, seed: 42 });
    let accepted = 0;
    let total = 0;
    const types = new Set<string>();
    let longSessions = 0;
    let threeDays = 0;
    for (const g of sample) {
      const { events, rejected } = toEvents(g);
      total += events.length;
      accepted += events.length - rejected;
      for (const e of events) types.add(`${e.type}@${e.version}`);
      if (events.length >= 80) {
        longSessions += 1;
        if ((foldAll(archiveGateV1, g.session, events).state as GateState).day >= 3) threeDays += 1;
      }
    }
    fc.statistics(
      gateSessionArb.map((g) => toEvents(g)),
      ({ events, rejected }) =>
        `accepted ${Math.floor(((events.length - rejected) / Math.max(1, events.length)) * 10) * 10}%+`,
      { numRuns: 200 },
    );
    expect(accepted / total).toBeGreaterThanOrEqual(0.7);
    expect([...types].sort()).toEqual([
      'day.ended@1',
      'day.started@1',
      'defense.purchased@1',
      'request.decided@1',
      'request.decided@2',
      'request.investigated@1',
      'session.ended@1',
    ]);
    expect(threeDays / longSessions).toBeGreaterThanOrEqual(0.9);
  });
});
