import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contractedExports } from '../support/package-exports.js';
import { repoRoot } from '../support/run-cli.js';
import { createEmptyDatabase } from '../support/test-database.js';

// agate as a studio installs it: `npm pack` of this checkout (its dist/ as built: `npm run build`
// first; pack's own prepare build is skipped to keep this fast), installed from the tarball alone
// into an empty folder out of the repository, from npm's cache where it can (`--prefer-offline`:
// `npm ci` may fill the cache with tarballs only, and resolving the tarball's dependencies needs
// their registry documents, which a fresh CI machine fetches from the registry). What it covers:
// the main entry and agate/client import by name, their types resolve through `exports`, and the
// installed bin runs from that folder, finding its migrations and fixtures inside the package;
// agate/testing (with the studio's fast-check) and agate/eslint import and run.

const run = promisify(execFile);
let app: string;
let installMs: number;

beforeAll(async () => {
  app = await mkdtemp(join(tmpdir(), 'agate-installed-'));
  const started = performance.now();
  await run('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', app], {
    cwd: repoRoot,
  });
  const [tarball] = (await readdir(app)).filter((f) => f.endsWith('.tgz'));
  await writeFile(
    join(app, 'package.json'),
    JSON.stringify({ name: 'studio', private: true, type: 'module' }),
  );
  await run(
    'npm',
    ['install', '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund', `./${tarball}`],
    { cwd: app },
  );
  installMs = performance.now() - started;
}, 120_000);
afterAll(() => rm(app, { recursive: true, force: true }));

/** Runs `file` (written into the studio's folder) with node there; its stdout. */
async function nodeIn(file: string, code: string): Promise<string> {
  await writeFile(join(app, file), code);
  return (await run(process.execPath, [file], { cwd: app })).stdout;
}

/** The contract's names plus the replay helpers a studio's tools fold with. */
const mainExports = [...(contractedExports.agate ?? []), 'createServer', 'createFolder', 'foldAll'];

describe('the packed agate installed into an empty folder', () => {
  it('installs from the tarball alone within the time budget', () => {
    console.log(`agate pack + install: ${Math.round(installMs)} ms`);
    expect(installMs).toBeLessThan(60_000);
    expect(existsSync(join(app, 'node_modules/agate/src'))).toBe(false);
    expect(existsSync(join(app, 'node_modules/agate/test'))).toBe(false);
  });

  it('imports the main entry and agate/client by name', async () => {
    const out = await nodeIn(
      'imports.mjs',
      `import * as agate from 'agate';
import * as client from 'agate/client';
const missing = ${JSON.stringify(mainExports)}.filter((name) => agate[name] === undefined);
const rules = agate.createGameCatalog([agate.archiveGateV1]).find('archive-gate', 1);
console.log(JSON.stringify({ missing, client: typeof client.AgateClient, rules: rules?.name }));
`,
    );
    expect(JSON.parse(out)).toEqual({ missing: [], client: 'function', rules: 'archive-gate' });
  });

  it('ships types that resolve through its exports', async () => {
    await writeFile(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { module: 'nodenext', strict: true, noEmit: true, skipLibCheck: true },
        files: ['typed.ts'],
      }),
    );
    await writeFile(
      join(app, 'typed.ts'),
      `import { archiveGateV1, loadGameCatalog } from 'agate';
import type { GameRules, LoadedCatalog, Verdict } from 'agate';
import { AgateClient } from 'agate/client';
const rules: GameRules = archiveGateV1;
const verdict: Verdict = { accepted: false, reason: rules.rejectReasons[0] ?? 'none' };
const loaded: Promise<LoadedCatalog> = loadGameCatalog({ cwd: '.' });
export { AgateClient, loaded, verdict };
`,
    );
    const tsc = join(repoRoot, 'node_modules/typescript/bin/tsc');
    await expect(run(process.execPath, [tsc, '-p', '.'], { cwd: app })).resolves.toMatchObject({
      stdout: '',
    });
  });

  it('runs a studio game module that imports the installed agate, listed in its configuration', async () => {
    await writeFile(
      join(app, 'coin.rules.mjs'),
      `import { z } from 'zod';
import { defineEventTypes } from 'agate';
const eventTypes = defineEventTypes('coin', 1, [
  { type: 'coin.flipped', version: 1, schema: z.strictObject({ seed: z.string() }), consumesRandomness: true },
]);
export const rules = {
  name: 'coin', version: 1, eventTypes, upcasters: [], dayBoundaryTypes: [], rejectReasons: [],
  initialState: () => ({ heads: 0 }),
  evolve: (state, event, rng) => (rng !== null && rng.below(2) === 1 ? { heads: state.heads + 1 } : state),
  verdict: () => ({ accepted: true }),
  score: (state) => state.heads,
};
`,
    );
    await writeFile(
      join(app, 'agate.config.json'),
      JSON.stringify({ games: [{ module: './coin.rules.mjs' }] }),
    );
    try {
      const bin = join(app, 'node_modules/.bin/agate');
      const games = await run(bin, ['games', 'list', '--json'], { cwd: app });
      expect(JSON.parse(games.stdout)).toMatchObject({
        config: join(app, 'agate.config.json'),
        games: [{ name: 'coin', version: 1, module: join(app, 'coin.rules.mjs'), fixtures: null }],
      });
    } finally {
      await rm(join(app, 'agate.config.json'));
    }
  });

  it('runs its bin from the studio folder, with the migrations and fixtures of the package', async () => {
    const bin = join(app, 'node_modules/.bin/agate');
    const help = await run(bin, ['--help'], { cwd: app });
    expect(help.stdout).toMatch(/^Usage: agate /);
    const games = await run(bin, ['games', 'list', '--json'], { cwd: app });
    expect(JSON.parse(games.stdout)).toMatchObject({
      config: null,
      games: [
        {
          name: 'archive-gate',
          fixtures: join(app, 'node_modules/agate/fixtures/archive-gate-v1'),
        },
      ],
    });
    const db = await createEmptyDatabase();
    try {
      const migrated = await run(bin, ['migrate', '--json'], {
        cwd: app,
        env: { PATH: process.env.PATH, DATABASE_URL: db.url },
      });
      const report = JSON.parse(migrated.stdout) as { applied: string[]; repeatable: string[] };
      expect(report.applied.length).toBeGreaterThan(10);
      expect(report.repeatable).toContain('game.append_events');
    } finally {
      await db.drop();
    }
  });

  it('proves rules with agate/testing once the studio has fast-check, and lints with agate/eslint', async () => {
    // fast-check is an optional peer: the studio installs it (here linked from this checkout).
    await mkdir(join(app, 'node_modules'), { recursive: true });
    await symlink(join(repoRoot, 'node_modules/fast-check'), join(app, 'node_modules/fast-check'));
    const out = await nodeIn(
      'proofs.mjs',
      `import fc from 'fast-check';
import { archiveGateV1 } from 'agate';
import { gamePurity, gamePurityFor } from 'agate/eslint';
import { checkFixtures, proveDeterminism, recordFixture } from 'agate/testing';
const day = fc.constantFrom({ type: 'day.started', version: 1, data: {} }, { type: 'day.ended', version: 1, data: {} });
await proveDeterminism({
  rules: archiveGateV1,
  module: import.meta.resolve('agate'),
  export: 'archiveGateV1',
  events: fc.array(day, { size: 'max', maxLength: 30 }),
  numRuns: 10,
});
const verdicts = await checkFixtures(archiveGateV1, 'node_modules/agate/fixtures/archive-gate-v1');
console.log(JSON.stringify({
  purity: Array.isArray(gamePurity) && typeof gamePurityFor === 'function',
  record: typeof recordFixture,
  fixtures: verdicts.filter((v) => v.status === 'unchanged').length,
}));
`,
    );
    expect(JSON.parse(out)).toEqual({ purity: true, record: 'function', fixtures: 25 });
  });
});
