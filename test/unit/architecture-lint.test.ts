import { ESLint } from 'eslint';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The lint rules are the executable form of docs/architecture.md: each arrow that must never exist
// is written as a deliberately wrong import in a real file of the importing part and must be
// rejected. Beside it, an allowed arrow must pass (the rules do not reject everything) and an
// import of another folder's internals must still be caught (the per-folder rules did not replace
// the index-only boundary). A dynamic import, which the import rules cannot see, is rejected
// outright in those folders, next to the house syntax rules that the same override must keep.
const root = fileURLToPath(new URL('../../', import.meta.url));
const eslint = new ESLint({ cwd: root });

/** Per importing file: an import it may make, and the internals of that same folder. */
const neighbours: Record<string, { allowed: string; internals: string }> = {
  'src/game/rules.ts': { allowed: '../errors/index.js', internals: '../errors/agate-error.js' },
  'src/game/archive-gate/evolve.ts': {
    allowed: '../../errors/index.js',
    internals: '../../errors/agate-error.js',
  },
  'src/errors/agate-error.ts': {
    allowed: '../hashing/index.js',
    internals: '../hashing/hashes.js',
  },
  'src/hashing/hashes.ts': { allowed: '../errors/index.js', internals: '../errors/agate-error.js' },
  'src/events/append-events.ts': { allowed: '../game/index.js', internals: '../game/rules.js' },
  'src/snapshots/write-snapshot.ts': {
    allowed: '../../replay/index.js',
    internals: '../../replay/fold.js',
  },
  'replay/fold.ts': {
    allowed: '../src/events/index.js',
    internals: '../src/events/read-events.js',
  },
  'src/db/pool.ts': { allowed: '../errors/index.js', internals: '../errors/agate-error.js' },
  'partitions/plan.ts': { allowed: '../src/db/index.js', internals: '../src/db/pool.js' },
  'src/feed/consumer-types.ts': {
    allowed: '../events/index.js',
    internals: '../events/feed.queries.js',
  },
  'src/analytics/analytics-row.ts': {
    allowed: '../feed/index.js',
    internals: '../feed/consumer-types.js',
  },
  'src/config/load-game-catalog.ts': {
    allowed: '../game/index.js',
    internals: '../game/rules.js',
  },
  'src/verdicts/state-before.ts': {
    allowed: '../cache/index.js',
    internals: '../cache/hot-state.js',
  },
};

/** The part that imports game modules by the path a configuration file gives. */
const dynamicImporter = 'src/config/load-game-catalog.ts';

const forbidden = [
  { file: 'src/game/rules.ts', imports: '../db/index.js', part: 'src/db' },
  { file: 'src/game/rules.ts', imports: '../events/index.js', part: 'src/events' },
  { file: 'src/game/rules.ts', imports: '../../replay/index.js', part: 'replay' },
  { file: 'src/game/rules.ts', imports: 'pg', part: 'pg' },
  { file: 'src/game/rules.ts', imports: '@electric-sql/pglite', part: '@electric-sql/pglite' },
  { file: 'src/game/rules.ts', imports: 'drizzle-orm/pg-core', part: 'drizzle-orm' },
  { file: 'src/game/archive-gate/evolve.ts', imports: '../../events/index.js', part: 'src/events' },
  { file: 'src/game/archive-gate/evolve.ts', imports: '../../db/index.js', part: 'src/db' },
  { file: 'src/errors/agate-error.ts', imports: '../db/index.js', part: 'src/db' },
  { file: 'src/hashing/hashes.ts', imports: '../events/index.js', part: 'src/events' },
  { file: 'src/events/append-events.ts', imports: '../jobs/index.js', part: 'src/jobs' },
  { file: 'src/events/append-events.ts', imports: '../cache/index.js', part: 'src/cache' },
  { file: 'src/events/append-events.ts', imports: '../api/index.js', part: 'src/api' },
  { file: 'src/events/append-events.ts', imports: 'bullmq', part: 'bullmq' },
  { file: 'src/snapshots/write-snapshot.ts', imports: '../jobs/index.js', part: 'src/jobs' },
  { file: 'replay/fold.ts', imports: '../src/api/index.js', part: 'src/api' },
  { file: 'src/db/pool.ts', imports: '../events/index.js', part: 'src/events' },
  { file: 'partitions/plan.ts', imports: '../src/events/index.js', part: 'src/events' },
  { file: 'src/analytics/analytics-row.ts', imports: '../runtime/index.js', part: 'src/runtime' },
  { file: 'src/analytics/analytics-row.ts', imports: '../cache/index.js', part: 'src/cache' },
  { file: 'src/analytics/analytics-row.ts', imports: 'fastify', part: 'fastify' },
  { file: 'src/events/append-events.ts', imports: '../analytics/index.js', part: 'src/analytics' },
  { file: 'replay/fold.ts', imports: '../src/analytics/index.js', part: 'src/analytics' },
  { file: 'src/feed/consumer-types.ts', imports: '../analytics/index.js', part: 'src/analytics' },
  { file: dynamicImporter, imports: '../events/index.js', part: 'src/events' },
  { file: dynamicImporter, imports: '../runtime/index.js', part: 'src/runtime' },
  { file: dynamicImporter, imports: 'pg', part: 'pg' },
  { file: 'src/verdicts/state-before.ts', imports: '../runtime/index.js', part: 'src/runtime' },
  { file: 'src/verdicts/state-before.ts', imports: '../api/index.js', part: 'src/api' },
  { file: 'src/events/append-events.ts', imports: '../verdicts/index.js', part: 'src/verdicts' },
];

/** What `rule` reports for `file` holding `code`, as `line: message`. */
async function reports(rule: string, file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: file });
  return (result?.messages ?? [])
    .filter((m) => m.ruleId === rule)
    .map((m) => `${m.line}: ${m.message}`);
}

/** The no-restricted-imports messages for `file` holding these imports. */
async function restrictions(file: string, imports: readonly string[]): Promise<string[]> {
  const names = imports.map((_, i) => `T${i}`);
  const code = [
    ...imports.map((from, i) => `import type { ${names[i]} } from '${from}';`),
    `export type Used = [${names.join(', ')}];`,
    '',
  ].join('\n');
  return reports('no-restricted-imports', file, code);
}

describe('the architecture lint rules', () => {
  it.each(forbidden)('reject $file importing $imports, and only that', async (arrow) => {
    const { allowed, internals } = neighbours[arrow.file]!;
    const messages = await restrictions(arrow.file, [arrow.imports, allowed, internals]);
    expect(messages).toEqual([
      expect.stringMatching(/^1: .*must not import .*\(docs\/architecture\.md\)\.$/),
      expect.stringMatching(/^3: .*through its index\.js/),
    ]);
    expect(messages[0]).toContain(` must not import ${arrow.part}: `);
  });

  it.each(Object.keys(neighbours).filter((file) => file !== dynamicImporter))(
    'reject a dynamic import in %s, which the import rules could not see',
    async (file) => {
      const code = `export const later = () => import('${neighbours[file]!.allowed}');\nexport enum Colour {\n  Red,\n}\n`;
      expect(await reports('no-restricted-syntax', file, code)).toEqual([
        expect.stringMatching(/^1: Import statically/),
        expect.stringMatching(/^2: Use a const union/),
      ]);
    },
  );

  it('allow the configuration loader a dynamic import (game modules), and keep the house syntax', async () => {
    const code = `export const later = () => import('./game.js');\nexport enum Colour {\n  Red,\n}\n`;
    expect(await reports('no-restricted-syntax', dynamicImporter, code)).toEqual([
      expect.stringMatching(/^2: Use a const union/),
    ]);
  });
});
