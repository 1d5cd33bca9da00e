import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadGameCatalog } from '../../src/config/index.js';
import { isAgateError } from '../../src/errors/index.js';
import { repoRoot } from '../support/run-cli.js';

// The game module (test/support/plugin-game/pinball.rules.js) imports agate by its package name,
// which resolves to dist/: `npm run build` first. Configurations are written in a scratch folder
// beside it, so that "../plugin-game/..." is a path relative to the configuration file.

let dir: string;
let cases = 0;
const pinball = '../../plugin-game/pinball.rules.js';

beforeAll(async () => {
  await mkdir(join(repoRoot, 'test/support'), { recursive: true });
  dir = await mkdtemp(join(repoRoot, 'test/support/.generated-config-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** A fresh folder holding `file` with `content` (an object is written as JSON). */
async function configIn(file: string, content: unknown): Promise<string> {
  const folder = join(dir, `case-${(cases += 1)}`);
  await mkdir(folder);
  const text = typeof content === 'string' ? content : JSON.stringify(content);
  await writeFile(join(folder, file), text);
  return folder;
}

/** The refusal of loading with `content` as agate.config.json, as `code: message`. */
async function refusal(content: unknown, file = 'agate.config.json'): Promise<string> {
  const cwd = await configIn(file, content);
  const error: unknown = await loadGameCatalog({ env: {}, cwd }).then(
    () => new Error('loaded'),
    (e: unknown) => e,
  );
  if (!isAgateError(error)) throw error;
  return `${error.code}: ${error.message}`;
}

describe('loadGameCatalog', () => {
  it('runs archive-gate with its built-in fixtures when there is no configuration', async () => {
    const loaded = await loadGameCatalog({ env: {}, cwd: dir });
    expect(loaded.source).toBeNull();
    expect(loaded.games.map((g) => [g.rules.name, g.rules.version, g.module, g.fixtures])).toEqual([
      ['archive-gate', 1, 'archive-gate', join(repoRoot, 'fixtures/archive-gate-v1')],
    ]);
    expect(loaded.catalog.find('archive-gate', 1)).toBe(loaded.games[0]?.rules);
  });

  it('loads the games a JSON configuration lists, modules relative to the file', async () => {
    await mkdir(join(dir, 'pinball-fixtures'), { recursive: true });
    const cwd = await configIn('agate.config.json', {
      games: ['archive-gate', { module: pinball, fixtures: '../pinball-fixtures' }],
    });
    const loaded = await loadGameCatalog({ env: {}, cwd });
    expect(loaded.source).toBe(join(cwd, 'agate.config.json'));
    expect(loaded.games.map((g) => [g.rules.name, g.rules.version, g.module, g.fixtures])).toEqual([
      ['archive-gate', 1, 'archive-gate', join(repoRoot, 'fixtures/archive-gate-v1')],
      [
        'pinball',
        1,
        join(repoRoot, 'test/support/plugin-game/pinball.rules.js'),
        join(dir, 'pinball-fixtures'),
      ],
    ]);
    expect(loaded.catalog.eventTypes.find('pinball', 1)?.find('ball.launched', 1)).toBeDefined();
  });

  it('loads an ES module configuration, an export of several versions, and only what it lists', async () => {
    const cwd = await configIn(
      'agate.config.mjs',
      `export default { games: [{ module: '${pinball}', export: 'versions' }] };\n`,
    );
    const loaded = await loadGameCatalog({ env: {}, cwd });
    expect(loaded.source).toBe(join(cwd, 'agate.config.mjs'));
    expect(loaded.games.map((g) => `${g.rules.name} v${g.rules.version}`)).toEqual([
      'pinball v1',
      'pinball v2',
    ]);
    expect(loaded.catalog.find('archive-gate', 1)).toBeUndefined();
  });

  it('reads the file AGATE_CONFIG names, relative to the current directory, before agate.config.*', async () => {
    const cwd = await configIn('agate.config.json', { games: ['archive-gate'] });
    await writeFile(join(cwd, 'games.json'), JSON.stringify({ games: [{ module: pinball }] }));
    const loaded = await loadGameCatalog({ env: { AGATE_CONFIG: 'games.json' }, cwd });
    expect([loaded.source, loaded.games.map((g) => g.rules.name)]).toEqual([
      join(cwd, 'games.json'),
      ['pinball'],
    ]);
  });

  it('resolves a package specifier from the configuration file', async () => {
    const cwd = await configIn('agate.config.json', {
      games: [{ module: 'agate', export: 'archiveGateV1' }],
    });
    const loaded = await loadGameCatalog({ env: {}, cwd });
    expect(loaded.games.map((g) => [g.rules.name, g.module])).toEqual([
      ['archive-gate', join(repoRoot, 'dist/src/index.js')],
    ]);
  });

  it('refuses a file AGATE_CONFIG names that is not there', async () => {
    const error: unknown = await loadGameCatalog({
      env: { AGATE_CONFIG: 'missing.json' },
      cwd: dir,
    }).catch((e: unknown) => e);
    expect(isAgateError(error) && `${error.code}: ${error.message}`).toMatch(
      new RegExp(
        `^invalid_config: AGATE_CONFIG names ${join(dir, 'missing.json')}, which is not a file`,
      ),
    );
  });

  it.each([
    [
      'bad JSON',
      '{ "games": [',
      /^invalid_config: Configuration .*agate\.config\.json is not valid JSON/,
    ],
    ['no games', { games: [] }, /games list at least one game/],
    [
      'an unknown key',
      { games: ['archive-gate'], port: 1 },
      /^invalid_config: Configuration .*agate\.config\.json: the top level has unknown key "port"; remove it/,
    ],
    [
      'an unknown key in a game',
      { games: [{ module: pinball, exports: 'rules' }] },
      /^invalid_config: .*games\.0 has unknown key "exports"; remove it/,
    ],
    [
      'an unknown built-in game',
      { games: ['pinball'] },
      /^invalid_config: .*games\.0 is "pinball", which is not a built-in game/,
    ],
    [
      'a fixtures folder that is not there',
      { games: [{ module: pinball, fixtures: './nowhere' }] },
      /^invalid_config: .*the fixtures of \.\.\/\.\.\/plugin-game\/pinball\.rules\.js, \.\/nowhere, is not a folder/,
    ],
  ])('refuses a configuration with %s', async (_, content, expected) => {
    expect(await refusal(content)).toMatch(expected);
  });

  it.each([
    [
      'a module that is not there',
      { module: './missing.rules.js' },
      /^invalid_game_module: Game module \.\/missing\.rules\.js \(listed in .*agate\.config\.json\) is not at .*missing\.rules\.js; build it/,
    ],
    [
      'a package that is not installed',
      { module: 'no-such-game' },
      /^invalid_game_module: Game module no-such-game \(listed in .*\) cannot be resolved from .*: install the package there/,
    ],
    [
      'a missing export',
      { module: pinball, export: 'pinballRules' },
      /^invalid_game_module: Game module \.\.\/\.\.\/plugin-game\/pinball\.rules\.js \(.*\) has no export "pinballRules" \(it exports datedRules, notRules, rules, versions\)/,
    ],
    [
      'an export that is not rules',
      { module: pinball, export: 'notRules' },
      /^invalid_game_module: Game module \.\.\/\.\.\/plugin-game\/pinball\.rules\.js .*export "notRules" is not a GameRules: it needs a positive integer version/,
    ],
    [
      'an event schema that does not compile to JSON Schema',
      { module: pinball, export: 'datedRules' },
      /^invalid_game_module: Game module \.\.\/\.\.\/plugin-game\/pinball\.rules\.js .*rules pinball v3 has an event schema for ball\.launched v1 that does not compile to JSON Schema/,
    ],
    [
      'TypeScript',
      { module: '../../tiny-rules.ts' },
      /^invalid_game_module: Game module \.\.\/\.\.\/tiny-rules\.ts .*is TypeScript, which node 20 cannot import; compile it/,
    ],
  ])('refuses %s, naming the module', async (_, entry, expected) => {
    expect(await refusal({ games: [entry] })).toMatch(expected);
  });

  it('refuses a rules name and version listed twice, naming both modules', async () => {
    expect(
      await refusal({ games: ['archive-gate', { module: 'agate', export: 'archiveGateV1' }] }),
    ).toMatch(
      /^invalid_game_module: Rules archive-gate v1 come from both archive-gate and .*dist\/src\/index\.js \(listed in .*\); give each rules version its own version number/,
    );
    expect(
      await refusal({ games: [{ module: pinball }, { module: pinball, export: 'versions' }] }),
    ).toMatch(
      /^invalid_game_module: Rules pinball v1 come from both .*pinball\.rules\.js and .*pinball\.rules\.js/,
    );
  });

  it('refuses a configuration module without a default export', async () => {
    expect(await refusal('export const games = [];\n', 'agate.config.mjs')).toMatch(
      /^invalid_config: Configuration .*agate\.config\.mjs has no default export; write export default/,
    );
  });
});
