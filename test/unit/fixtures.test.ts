import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFolder, foldAll, stateHash } from '../../replay/index.js';
import {
  checkpointSequences,
  compareCheckpoints,
  computeCheckpoints,
  decideRecording,
  fixtureFoldSession,
  fixtureReplayEvents,
  formatFixture,
  loadFixture,
  loadFixtures,
} from '../../src/fixtures/index.js';
import type { Fixture } from '../../src/fixtures/index.js';
import { archiveGateV1, defaultGames } from '../../src/game/index.js';
import type { GameRules, GateState } from '../../src/game/index.js';

const fixturesDir = fileURLToPath(new URL('../../fixtures/', import.meta.url));
const fixtures = await loadFixtures(fixturesDir);

function rulesOf(fixture: Fixture): GameRules {
  const rules = defaultGames.find(fixture.rules, fixture.rulesVersion);
  if (rules === undefined) throw new Error(`${fixture.name}: rules not registered`);
  return rules;
}

function finalState(fixture: Fixture): GateState {
  const rules = rulesOf(fixture);
  const events = fixtureReplayEvents(fixture.events);
  return foldAll(rules, fixtureFoldSession(rules, fixture), events).state as GateState;
}

const finals = new Map(fixtures.map((f) => [f.name, finalState(f)]));
const final = (f: Fixture): GateState => finals.get(f.name) as GateState;

describe('golden fixtures as a pure fold', () => {
  it.each(fixtures.map((f) => [f.name, f] as const))(
    '%s folds to every recorded checkpoint hash in one pass of createFolder',
    (_name, fixture) => {
      const rules = rulesOf(fixture);
      const folder = createFolder(rules, fixtureFoldSession(rules, fixture));
      const wanted = new Map(fixture.checkpoints.map((c) => [c.sequence, c.stateHash]));
      let seen = 0;
      for (const event of fixtureReplayEvents(fixture.events)) {
        folder.apply(event);
        const expected = wanted.get(event.sequence);
        if (expected === undefined) continue;
        expect(stateHash(folder.state), `${fixture.name} at ${event.sequence}`).toBe(expected);
        seen += 1;
      }
      expect(seen).toBe(fixture.checkpoints.length);
    },
  );

  it.each(fixtures.map((f) => [f.name, f] as const))(
    '%s folds with foldAll from genesis and from each checkpoint state read back from JSON',
    (_name, fixture) => {
      const rules = rulesOf(fixture);
      const session = fixtureFoldSession(rules, fixture);
      const events = fixtureReplayEvents(fixture.events);
      expect(foldAll(rules, session, events).stateHash).toBe(fixture.checkpoints.at(-1)?.stateHash);
      let start = { sequence: 0, state: rules.initialState(session.seed, session.config) };
      for (const checkpoint of fixture.checkpoints) {
        const segment = events.slice(start.sequence, checkpoint.sequence);
        const folded = foldAll(rules, session, segment, {
          sequence: start.sequence,
          state: JSON.parse(JSON.stringify(start.state)) as unknown,
        });
        expect(folded.stateHash, `${fixture.name} at ${checkpoint.sequence}`).toBe(
          checkpoint.stateHash,
        );
        start = { sequence: folded.sequence, state: folded.state };
      }
    },
  );

  it('recomputes exactly the recorded checkpoints for every fixture', () => {
    for (const fixture of fixtures) {
      expect(computeCheckpoints(rulesOf(fixture), fixture), fixture.name).toEqual(
        fixture.checkpoints,
      );
    }
  });

  it('stores every fixture in its canonical one-event-per-line format', async () => {
    for (const fixture of fixtures) {
      const path = join(
        fixturesDir,
        `${fixture.rules}-v${fixture.rulesVersion}`,
        `${fixture.name}.json`,
      );
      expect(await readFile(path, 'utf8'), fixture.name).toBe(formatFixture(fixture));
    }
  });
});

describe('golden fixture coverage', () => {
  const lengths = fixtures.map((f) => f.events.length);
  const several = 3;

  it('holds at least 20 sessions, from 10 events or fewer to 5,000 or more', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(20);
    expect(Math.min(...lengths)).toBeLessThanOrEqual(10);
    expect(Math.max(...lengths)).toBeGreaterThanOrEqual(5000);
    expect(lengths).toEqual(expect.arrayContaining([49, 50, 51, 200, 1000]));
  });

  it('has several sessions with actions the rules refused', () => {
    expect(fixtures.filter((f) => final(f).rejected > 0).length).toBeGreaterThanOrEqual(several);
  });

  it('has several sessions with request.decided v1 events that need upcasting', () => {
    const withOld = fixtures.filter((f) =>
      f.events.some((e) => e.type === 'request.decided' && e.version === 1),
    );
    expect(withOld.length).toBeGreaterThanOrEqual(several);
  });

  it('plays at least 3 days in most sessions', () => {
    const long = fixtures.filter((f) => final(f).day >= 3);
    expect(long.length).toBeGreaterThan(fixtures.length / 2);
  });

  it('has ended sessions, closed by session.ended as their last event', () => {
    const ended = fixtures.filter((f) => f.events.at(-1)?.type === 'session.ended');
    expect(ended.length).toBeGreaterThanOrEqual(1);
    for (const f of ended) expect(final(f).phase, f.name).toBe('ended');
  });

  it('varies the session seeds and the configs', () => {
    expect(new Set(fixtures.map((f) => f.seed)).size).toBeGreaterThanOrEqual(20);
    expect(new Set(fixtures.map((f) => JSON.stringify(f.config))).size).toBeGreaterThanOrEqual(8);
  });
});

const sample: Fixture = {
  format: 1,
  name: 'sample',
  description: 'A "quoted" description.',
  rules: archiveGateV1.name,
  rulesVersion: archiveGateV1.version,
  seed: 'sample-seed',
  config: { requestsPerDay: { min: 2, max: 3 } },
  events: [
    { type: 'day.started', version: 1, data: {} },
    { type: 'request.decided', version: 1, data: { requestId: 'd1-r1', approved: true } },
  ],
  checkpoints: [],
};
sample.checkpoints = computeCheckpoints(archiveGateV1, sample);

describe('formatFixture', () => {
  it('writes JSON that reads back equal, with one event and one checkpoint per line', () => {
    const text = formatFixture(sample);
    expect(JSON.parse(text)).toEqual(sample);
    expect(text.endsWith('}\n')).toBe(true);
    const lines = text.split('\n');
    expect(lines).toContain('    {"type":"day.started","version":1,"data":{}},');
    expect(lines.filter((l) => l.startsWith('    {"type":')).length).toBe(2);
    expect(lines.filter((l) => l.startsWith('    {"sequence":')).length).toBe(1);
    expect(lines).toContain('  "config": {');
  });
});

describe('loadFixture', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'agate-fixtures-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  async function write(name: string, content: string): Promise<string> {
    const path = join(dir, name);
    await writeFile(path, content);
    return path;
  }

  it('names the file when it is not JSON', async () => {
    const path = await write('broken.json', '{"format": 1,');
    await expect(loadFixture(path)).rejects.toThrow(path);
  });

  it('names the file and the field when the schema is not met', async () => {
    const path = await write('sample.json', formatFixture({ ...sample, seed: '' }));
    await expect(loadFixture(path)).rejects.toThrow(new RegExp(`${path}.*\\$\\.seed`));
  });

  it('refuses checkpoints that are not at every 50th and the last sequence', async () => {
    const bad = { ...sample, checkpoints: [{ sequence: 1, stateHash: 'a'.repeat(64) }] };
    const path = await write('sample.json', formatFixture(bad));
    await expect(loadFixture(path)).rejects.toMatchObject({
      code: 'invalid_request',
      message: expect.stringContaining('$.checkpoints') as unknown,
    });
  });

  it('refuses a file whose name is not the fixture name', async () => {
    const path = await write('other.json', formatFixture(sample));
    await expect(loadFixture(path)).rejects.toThrow(/does not match its file name/);
  });

  it('loads a directory sorted by name', async () => {
    const sub = await mkdtemp(join(dir, 'sorted-'));
    for (const name of ['b-two', 'a-one', 'c-three']) {
      await writeFile(join(sub, `${name}.json`), formatFixture({ ...sample, name }));
    }
    expect((await loadFixtures(sub)).map((f) => f.name)).toEqual(['a-one', 'b-two', 'c-three']);
  });
});

describe('recording fixtures', () => {
  const recorded = fixtures.find((f) => f.events.length > 100) as Fixture;
  const tampered: Fixture = {
    ...recorded,
    checkpoints: recorded.checkpoints.map((c, i) =>
      i === 1 ? { ...c, stateHash: '0'.repeat(64) } : c,
    ),
  };

  it('takes checkpoints at every 50th sequence and at the last', () => {
    expect(checkpointSequences(10)).toEqual([10]);
    expect(checkpointSequences(50)).toEqual([50]);
    expect(checkpointSequences(151)).toEqual([50, 100, 150, 151]);
  });

  it('reports the sequence of a checkpoint the rules no longer reproduce', () => {
    const recomputed = computeCheckpoints(rulesOf(recorded), recorded);
    expect(compareCheckpoints(recorded.checkpoints, recomputed)).toEqual([]);
    expect(compareCheckpoints(tampered.checkpoints, recomputed)).toEqual([
      {
        sequence: 100,
        recorded: '0'.repeat(64),
        recomputed: recorded.checkpoints[1]?.stateHash,
      },
    ]);
  });

  it('refuses to record over a fixture whose hashes changed', () => {
    expect(decideRecording(rulesOf(recorded), recorded, tampered)).toMatchObject({
      action: 'refuse',
      name: recorded.name,
      differences: [{ sequence: 100 }],
    });
  });

  it('keeps a recorded fixture that still folds to its hashes, and writes a new one', () => {
    expect(decideRecording(rulesOf(recorded), recorded, recorded)).toEqual({
      action: 'keep',
      name: recorded.name,
      matchesCandidate: true,
    });
    expect(decideRecording(archiveGateV1, sample, undefined)).toMatchObject({ action: 'write' });
  });
});
