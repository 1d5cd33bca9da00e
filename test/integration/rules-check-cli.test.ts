// Runs the built CLI and the built agate/testing (npm run build first), as a studio would.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { GameRules } from '../../src/game/index.js';
import { recordFixture } from '../../src/testing/index.js';
import { repoRoot, runCli } from '../support/run-cli.js';

const counterModule = join(repoRoot, 'test/support/changed-game/counter.rules.js');
const scratch: string[] = [];

afterAll(async () => {
  await Promise.all(scratch.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** A folder with a configuration listing counter v1 as `exportName`, and one fixture of `rules`. */
async function counterProject(exportName: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'agate-rules-check-cli-'));
  scratch.push(dir);
  const { rules } = (await import(counterModule)) as { rules: GameRules };
  const events = Array.from({ length: 70 }, (_, i) => ({
    type: 'counter.added',
    version: 1,
    data: { by: i % 5 },
  }));
  await mkdir(join(dir, 'fixtures'));
  await writeFile(
    join(dir, 'fixtures', 'counting-70.json'),
    recordFixture(rules, { name: 'counting-70', seed: 'c', events }),
  );
  const config = { games: [{ module: counterModule, export: exportName, fixtures: './fixtures' }] };
  await writeFile(join(dir, 'agate.config.json'), JSON.stringify(config));
  return dir;
}

/** Runs an ES module script with plain `node` (no TypeScript loader) from the repository root. */
function runNode(script: string): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', script],
      { cwd: repoRoot, env: { PATH: process.env.PATH } },
      (error, _stdout, stderr) => {
        resolve({
          code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1,
          stderr,
        });
      },
    );
  });
}

function proofScript(exportName: string): string {
  const dist = new URL('dist/src/', `file://${repoRoot}/`).href;
  return `
    import fc from 'fast-check';
    import { archiveGateV1 } from '${dist}game/index.js';
    import { proveDeterminism } from '${dist}testing/index.js';
    const event = fc.oneof(
      fc.constant({ type: 'day.started', version: 1, data: {} }),
      fc.nat(6).map((r) => ({ type: 'request.decided', version: 2, data: { requestId: 'd1-r' + r, decision: 'approve' } })),
      fc.nat(6).map((r) => ({ type: 'request.decided', version: 1, data: { requestId: 'd1-r' + r, approved: false } })),
      fc.constant({ type: 'defense.purchased', version: 1, data: { defense: 'mfa' } }),
      fc.constant({ type: 'day.ended', version: 1, data: {} }),
    );
    await proveDeterminism({
      rules: archiveGateV1,
      module: new URL('${dist}game/index.js'),
      export: '${exportName}',
      events: fc.array(event, { size: 'max', maxLength: 60 }),
      numRuns: 20,
    });
  `;
}

describe('agate rules check', () => {
  it('replays the built-in fixtures and says so, as JSON for scripts and as text', async () => {
    const json = await runCli(['rules', 'check', '--json'], {});
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout) as { ok: boolean; fixtures: { status: string }[] };
    expect(report.ok).toBe(true);
    expect(report.fixtures).toHaveLength(25);
    expect(new Set(report.fixtures.map((f) => f.status))).toEqual(new Set(['unchanged']));
    const text = await runCli(['rules', 'check'], {});
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('archive-gate v1: 25 fixture(s) in fixtures/archive-gate-v1');
  });

  it('passes the fixtures of a configured game whose rules still reproduce them', async () => {
    const dir = await counterProject('rules');
    const run = await runCli(['rules', 'check'], {}, { cwd: dir });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('counter v1: 1 fixture(s) in fixtures');
  });

  it('fails with rules_changed naming the fixture, the rules version and the first differing checkpoint', async () => {
    const dir = await counterProject('changedRules');
    const json = await runCli(['rules', 'check', '--json'], {}, { cwd: dir });
    expect(json.code).toBe(1);
    const report = JSON.parse(json.stdout) as { ok: boolean; fixtures: unknown[] };
    expect(report.ok).toBe(false);
    expect(report.fixtures).toEqual([
      expect.objectContaining({
        name: 'counting-70',
        rules: 'counter',
        rulesVersion: 1,
        status: 'changed',
        firstDifference: expect.objectContaining({ sequence: 50 }) as unknown,
      }),
    ]);
    const text = await runCli(['rules', 'check'], {}, { cwd: dir });
    expect(text.code).toBe(1);
    expect(text.stdout).toContain('CHANGED fixture counting-70 of counter v1');
    expect(text.stderr).toMatch(
      /^agate: 1 golden fixture\(s\) no longer replay to their recorded hashes; fixture counting-70 of counter v1 \(.*counting-70\.json\): first differing checkpoint at sequence 50: recorded [0-9a-f]{64}, now [0-9a-f]{64}\. .* \[rules_changed\]\n$/,
    );
  });
});

describe('the built agate/testing', () => {
  it('proves archive-gate from compiled JavaScript, the fresh process without a loader', async () => {
    const run = await runNode(proofScript('archiveGateV1'));
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
  });

  it('names the module and the export when the fresh process finds no such rules', async () => {
    const run = await runNode(proofScript('noSuchExport'));
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(
      /freshProcessAgrees fails for archive-gate v1: The fresh process folding .*game\/index\.js exited with 1: Error: .*has no export "noSuchExport" that is rules archive-gate v1/,
    );
  });
});
