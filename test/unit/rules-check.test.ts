import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkInstalledRules,
  describeRulesCheck,
  rulesChangedError,
} from '../../src/cli/rules.command.js';
import { loadGameCatalog } from '../../src/config/index.js';
import { isAgateError } from '../../src/errors/index.js';
import { loadFixture } from '../../src/fixtures/index.js';
import { archiveGateV1 } from '../../src/game/index.js';
import type { GameRules } from '../../src/game/index.js';
import { checkFixtures, recordFixture } from '../../src/testing/index.js';
import { tinyRules } from '../support/tiny-rules.js';
import type { TinyState } from '../support/tiny-rules.js';

const builtIn = new URL('../../fixtures/archive-gate-v1/', import.meta.url);

const tinyEvents = [
  ...Array.from({ length: 60 }, (_, i) => ({
    type: 'counter.incremented',
    version: 2,
    data: { by: i % 7, note: '' },
  })),
  { type: 'dice.rolled', version: 1, data: { sides: 6, seed: 'dice-1' } },
  { type: 'note.written', version: 1, data: { text: 'day one' } },
];

/** Same name and version, other behaviour: a note now also counts one. */
const changedTiny: GameRules<TinyState> = {
  ...tinyRules,
  evolve: (state, event, rng) => {
    const next = tinyRules.evolve(state, event, rng);
    return event.type === 'note.written' ? { ...next, total: next.total + 1 } : next;
  },
};

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'agate-rules-check-'));
  const text = recordFixture(tinyRules, { name: 'tiny-notes-62', seed: 's1', events: tinyEvents });
  await writeFile(join(dir, 'tiny-notes-62.json'), text);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('recordFixture', () => {
  it('writes what the archive-gate recorder wrote for the same session', async () => {
    const path = new URL('first-steps-10.json', builtIn);
    const recorded = await loadFixture(path.pathname);
    const text = recordFixture(archiveGateV1, {
      name: recorded.name,
      description: recorded.description,
      seed: recorded.seed,
      config: recorded.config,
      events: recorded.events,
    });
    expect(text).toBe(await readFile(path, 'utf8'));
  });

  it('refuses an event the store would refuse, naming it', () => {
    const events = [{ type: 'dice.rolled', version: 1, data: { sides: 6 } }];
    expect(() => recordFixture(tinyRules, { name: 'no-seed', seed: 's', events })).toThrow(
      /^Fixture no-seed: events\[0\] \(dice\.rolled v1\) data\.seed: /,
    );
  });
});

describe('agate rules check', () => {
  it('passes for the built-in fixtures', async () => {
    // No configuration file in that folder: the built-in archive-gate and its fixtures.
    const { games } = await loadGameCatalog({ env: {}, cwd: dir });
    const report = await checkInstalledRules(games);
    expect(report.ok).toBe(true);
    expect(report.rules).toEqual([
      expect.objectContaining({ rules: 'archive-gate', rulesVersion: 1, checked: 25 }),
    ]);
    expect(rulesChangedError(report)).toBeNull();
    expect(describeRulesCheck(report)).toContain('Every golden fixture replays');
  });

  it('fails with rules_changed naming the fixture, the version and the first differing checkpoint', async () => {
    const report = await checkInstalledRules([{ rules: changedTiny, fixtures: dir }]);
    expect(report.ok).toBe(false);
    const [verdict] = report.fixtures;
    expect(verdict).toMatchObject({ name: 'tiny-notes-62', status: 'changed' });
    expect(verdict?.firstDifference).toMatchObject({ sequence: 62 });
    const error = rulesChangedError(report);
    expect(isAgateError(error, 'rules_changed')).toBe(true);
    expect(error?.message).toMatch(
      /^1 golden fixture\(s\) no longer replay .*; fixture tiny-notes-62 of tiny v1 \(.*tiny-notes-62\.json\): first differing checkpoint at sequence 62: recorded [0-9a-f]{64}, now [0-9a-f]{64}\. .*new rules version/,
    );
    expect(describeRulesCheck(report)).toContain('CHANGED fixture tiny-notes-62 of tiny v1');
  });

  it('keeps passing for the rules the fixture was recorded with, and skips versions not installed', async () => {
    expect((await checkFixtures(tinyRules, dir)).map((v) => v.status)).toEqual(['unchanged']);
    const other = await checkFixtures({ ...tinyRules, version: 2 }, dir);
    expect(other.map((v) => v.status)).toEqual(['not_installed']);
  });

  it('names a fixtures folder that is not there', async () => {
    await expect(checkFixtures(tinyRules, join(dir, 'missing'))).rejects.toThrow(
      /The fixtures folder .*missing does not exist/,
    );
  });
});
