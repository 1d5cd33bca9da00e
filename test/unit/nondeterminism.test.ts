import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ReplayEvent } from '../../replay/index.js';
import { rngFromSeed } from '../../src/game/index.js';
import type { GameRules, Rng } from '../../src/game/index.js';
import { foldPaths, pathsAgree } from '../support/equivalence.js';
import { tinyRules } from '../support/tiny-rules.js';
import type { TinyState } from '../support/tiny-rules.js';

const session = {
  sessionId: 's',
  tenantId: 't',
  seed: 'seed',
  rules: 'tiny',
  rulesVersion: 1,
  config: {},
};
const events: ReplayEvent[] = Array.from({ length: 120 }, (_, i) => ({
  sequence: i + 1,
  eventId: `e${i}`,
  type: 'counter.incremented',
  version: 1,
  data: { by: i },
}));
const cuts = [50, 100];

function variant(evolve: (state: TinyState) => TinyState): GameRules<TinyState> {
  return {
    ...tinyRules,
    evolve: (state, event, rng) => evolve(tinyRules.evolve(state, event, rng)),
  };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('the equivalence check catches non-determinism', () => {
  it('passes honest rules', () => {
    expect(pathsAgree(foldPaths(tinyRules, session, events, cuts))).toBe(true);
  });

  it('fails rules that read Math.random', () => {
    const rules = variant((s) => ({ ...s, luck: s.luck + (Math.random() < 0.5 ? 1 : 0) }));
    expect(pathsAgree(foldPaths(rules, session, events, cuts))).toBe(false);
  });

  it('fails rules that read the clock', () => {
    vi.useFakeTimers();
    let tick = 0;
    const rules = variant((s) => {
      vi.setSystemTime(1_000_000 + (tick += 7));
      return { ...s, luck: Date.now() % 1000 };
    });
    expect(pathsAgree(foldPaths(rules, session, events, cuts))).toBe(false);
  });

  it('fails rules that keep their random stream outside the state', () => {
    let outside: Rng = rngFromSeed('x');
    const rules: GameRules<TinyState> = {
      ...tinyRules,
      initialState: (seed, config) => {
        outside = rngFromSeed(seed);
        return tinyRules.initialState(seed, config);
      },
      evolve: (state, event, rng) => ({
        ...tinyRules.evolve(state, event, rng),
        luck: state.luck + outside.below(10),
      }),
    };
    const paths = foldPaths(rules, session, events, cuts);
    expect(paths.genesis).toBe(paths.live);
    expect(pathsAgree(paths)).toBe(false);
  });
});
