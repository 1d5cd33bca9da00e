import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKey } from '../../src/keys/index.js';
import { createTenant } from '../../src/tenants/index.js';
import { spawnServe } from '../support/api.js';
import { repoRoot, runCli } from '../support/run-cli.js';
import { createTestDatabase } from '../support/test-database.js';
import type { TestDatabase } from '../support/test-database.js';

// Spawns the built binary with configurations listing the plug-in game of
// test/support/plugin-game/ (`npm run build` first): serve runs the game it is told to, and a
// broken module stops it before it listens.

let db: TestDatabase;
let dir: string;

beforeAll(async () => {
  db = await createTestDatabase();
  dir = await mkdtemp(join(repoRoot, 'test/support/.generated-plugins-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await db.drop();
});

/** A configuration file in the scratch folder, listing `games`; its path. */
async function config(name: string, games: unknown[]): Promise<string> {
  const folder = join(dir, name);
  await mkdir(folder);
  const path = join(folder, 'agate.config.json');
  await writeFile(path, JSON.stringify({ games }));
  return path;
}

const pinball = { module: '../../plugin-game/pinball.rules.js', fixtures: '.' };

describe('games as plug-ins in the CLI', () => {
  it('lists the configured games with their event types, reasons, module and fixtures', async () => {
    const path = await config('listed', ['archive-gate', pinball]);
    const listed = await runCli(['games', 'list', '--json'], { AGATE_CONFIG: path });
    expect([listed.code, listed.stderr]).toEqual([0, '']);
    const json = JSON.parse(listed.stdout) as { config: string; games: Record<string, unknown>[] };
    expect(json.config).toBe(path);
    expect(json.games.map((g) => [g.name, g.version, g.module, g.fixtures])).toEqual([
      ['archive-gate', 1, 'archive-gate', join(repoRoot, 'fixtures/archive-gate-v1')],
      [
        'pinball',
        1,
        join(repoRoot, 'test/support/plugin-game/pinball.rules.js'),
        join(dir, 'listed'),
      ],
    ]);
    expect(json.games[1]).toMatchObject({
      rejectReasons: ['no_ball_left'],
      eventTypes: [
        { type: 'ball.launched', version: 1, consumesRandomness: true },
        { type: 'bonus.claimed', version: 1, consumesRandomness: false },
        { type: 'session.ended', version: 1, consumesRandomness: false },
      ],
    });
    const text = await runCli(['games', 'list'], { AGATE_CONFIG: path });
    expect(text.stdout).toContain(`Configuration: ${path}`);
    expect(text.stdout).toMatch(/pinball v1\n {2}module: {9}.*pinball\.rules\.js/);
  });

  it('serves a session of the configured game over HTTP', async () => {
    const path = await config('served', [pinball]);
    const tenantId = (await createTenant(db.pool, { name: 'plug-in', actor: 'test' })).id;
    const { key } = await createKey(db.pool, { tenantId, role: 'game_server', actor: 'test' });
    const server = await spawnServe({
      DATABASE_URL: db.url,
      AGATE_CONFIG: path,
      LOG_LEVEL: 'info',
    });
    let exitCode: number | null;
    try {
      const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
      const post = (url: string, body: unknown) =>
        fetch(`${server.url}${url}`, { method: 'POST', headers, body: JSON.stringify(body) });
      const created = await post('/v1/sessions', {});
      expect(created.status).toBe(201);
      const session = (await created.json()) as { id: string; rules: string; rulesVersion: number };
      expect(session).toMatchObject({ rules: 'pinball', rulesVersion: 1 });
      const appended = await post(`/v1/sessions/${session.id}/events`, {
        events: [
          { type: 'ball.launched', version: 1, data: {} },
          { type: 'bonus.claimed', version: 1, data: { points: 500 } },
        ],
      });
      expect(appended.status).toBe(201);
      const state = await fetch(`${server.url}/v1/sessions/${session.id}/state`, { headers });
      const body = (await state.json()) as { sequence: number; state: Record<string, number> };
      expect(body.sequence).toBe(2);
      expect(body.state).toMatchObject({ balls: 2, rejected: 0 });
      expect(body.state.score).toBeGreaterThan(500);
      const archiveGate = await post('/v1/sessions', { rules: 'archive-gate' });
      expect(archiveGate.status).toBe(422);
    } finally {
      exitCode = await server.stop();
    }
    expect(exitCode).toBe(0);
    expect(server.output()).toContain(`agate serve: games pinball v1 (from ${path})`);
  });

  it('stops serve before it listens when a module is broken, naming it and the fix', async () => {
    const path = await config('broken', [
      { module: '../../plugin-game/pinball.rules.js', export: 'datedRules' },
    ]);
    const served = await runCli(['serve'], { DATABASE_URL: db.url, AGATE_CONFIG: path, PORT: '0' });
    expect(served.code).toBe(1);
    expect(served.stdout).toBe('');
    expect(served.stderr).toMatch(
      /^agate: Game module \.\.\/\.\.\/plugin-game\/pinball\.rules\.js \(.*\), export "datedRules": rules pinball v3 has an event schema for ball\.launched v1 that does not compile to JSON Schema .* \[invalid_game_module\]\n$/,
    );
  });

  it('says the demo plays archive-gate when the configuration does not list it', async () => {
    const path = await config('no-archive-gate', [pinball]);
    const demo = await runCli(['demo', '--sessions', '1'], {
      DATABASE_URL: db.url,
      AGATE_CONFIG: path,
    });
    expect(demo.code).toBe(1);
    expect(demo.stderr).toBe(
      `agate: agate demo plays archive-gate, which the configuration ${path} does not list; add "archive-gate" to its games, or run the demo without a configuration (unset AGATE_CONFIG, or from a folder without agate.config.*). [invalid_config]\n`,
    );
  });
});
