import { relative } from 'node:path';
import type { Command } from 'commander';
import { loadGameCatalog } from '../config/index.js';
import { AgateError, isAgateError } from '../errors/index.js';
import { checkFixtures } from '../fixtures/index.js';
import type { FixtureVerdict } from '../fixtures/index.js';
import type { GameRules } from '../game/index.js';

/** A rules version this agate runs, and the folder of its golden fixtures (null: none). */
export type InstalledRules = { rules: GameRules; fixtures: string | null };

export type RulesCheckReport = {
  ok: boolean;
  rules: { rules: string; rulesVersion: number; fixtures: string | null; checked: number }[];
  fixtures: FixtureVerdict[];
};

/**
 * Replays every golden fixture of every installed rules version, each with the version it was
 * recorded for. Fixtures folders shared by several versions of a game are read once.
 */
export async function checkInstalledRules(
  installed: readonly InstalledRules[],
): Promise<RulesCheckReport> {
  const dirs = [...new Set(installed.flatMap((i) => (i.fixtures === null ? [] : [i.fixtures])))];
  const fixtures: FixtureVerdict[] = [];
  for (const dir of dirs) {
    const versions = installed.filter((i) => i.fixtures === dir).map((i) => i.rules);
    fixtures.push(...(await checkFixtures(versions, dir)));
  }
  const rules = installed.map(({ rules: r, fixtures: dir }) => ({
    rules: r.name,
    rulesVersion: r.version,
    fixtures: dir,
    checked: fixtures.filter(
      (f) => f.rules === r.name && f.rulesVersion === r.version && f.status !== 'not_installed',
    ).length,
  }));
  return { ok: fixtures.every((f) => f.status !== 'changed'), rules, fixtures };
}

function describeChange(f: FixtureVerdict): string {
  const d = f.firstDifference;
  const where =
    d === null
      ? 'its checkpoints differ'
      : `first differing checkpoint at sequence ${d.sequence}: recorded ${d.recorded ?? '(none)'}, now ${d.recomputed ?? '(none)'}`;
  return `fixture ${f.name} of ${f.rules} v${f.rulesVersion} (${f.file}): ${where}${f.error === null ? '' : ` (the replay threw: ${f.error})`}`;
}

export function describeRulesCheck(report: RulesCheckReport): string {
  const lines = report.rules.map((r) => {
    const status =
      r.fixtures === null
        ? 'no fixtures folder: nothing to check'
        : `${r.checked} fixture(s) in ${relative(process.cwd(), r.fixtures) || '.'}`;
    return `${r.rules} v${r.rulesVersion}: ${status}`;
  });
  for (const f of report.fixtures) {
    if (f.status === 'changed') lines.push(`  CHANGED ${describeChange(f)}`);
    if (f.status === 'not_installed') {
      lines.push(`  skipped ${f.name}: ${f.rules} v${f.rulesVersion} is not installed`);
    }
  }
  if (report.ok) lines.push('Every golden fixture replays to its recorded hashes.');
  return lines.join('\n');
}

/** The error a failed check ends with: it names the first changed fixture and what to do. */
export function rulesChangedError(report: RulesCheckReport): AgateError | null {
  const changed = report.fixtures.filter((f) => f.status === 'changed');
  const first = changed[0];
  if (first === undefined) return null;
  return new AgateError(
    'rules_changed',
    `${changed.length} golden fixture(s) no longer replay to their recorded hashes; ${describeChange(first)}. A rules change altered recorded sessions: restore the behaviour of ${first.rules} v${first.rulesVersion} and put the change in a new rules version with its own fixtures.`,
    {
      details: {
        fixtures: changed.map((f) => ({
          fixture: f.name,
          file: f.file,
          rules: f.rules,
          rulesVersion: f.rulesVersion,
          firstDifference: f.firstDifference,
        })),
      },
    },
  );
}

/** A fixtures folder the configuration names but that is not there is the configuration's fault. */
function missingFixturesFolder(error: unknown, source: string | null): unknown {
  if (!isAgateError(error, 'invalid_request') || typeof error.details.path !== 'string') {
    return error;
  }
  if (!/^The fixtures folder /.test(error.message)) return error;
  return new AgateError(
    source === null ? 'internal' : 'invalid_config',
    `${error.message} It is the "fixtures" of a game in ${source ?? "agate's built-in games"}; fix the path or remove it.`,
    { cause: error, details: error.details },
  );
}

export function addRulesCommands(program: Command): void {
  const rules = program.command('rules').description('the game rules this agate runs');
  rules
    .command('check')
    .description(
      'replay every golden fixture of every installed rules version; fails (rules_changed) when a hash changed',
    )
    .option(
      '--json',
      'print {source, ok, rules: [{rules, rulesVersion, fixtures, checked}], fixtures: [{file, name, rules, rulesVersion, status, firstDifference, differences, error}]}',
    )
    .action(async (flags: { json?: boolean }) => {
      const loaded = await loadGameCatalog({ env: process.env, cwd: process.cwd() });
      const report = await checkInstalledRules(loaded.games).catch((error: unknown) => {
        throw missingFixturesFolder(error, loaded.source);
      });
      const games = `Games of ${loaded.source ?? 'agate (no configuration file: archive-gate)'}`;
      console.log(
        flags.json === true
          ? JSON.stringify({ source: loaded.source, ...report })
          : `${games}\n${describeRulesCheck(report)}`,
      );
      const error = rulesChangedError(report);
      if (error !== null) throw error;
    });
}
