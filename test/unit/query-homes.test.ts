import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

const code = ['src', 'replay', 'partitions'].flatMap(sourceFiles);

/** SQL that reads or writes the store's tables (or the nightly anchors), not prose about them. */
const storeSql =
  /\b(FROM|JOIN|INTO|UPDATE|TABLE)\s+(game\.(sessions|events|snapshots)|archive\.events)\b|'anchor\.recorded'/;

/** Where that SQL may be: the store's query modules, and the bulk import's own COPY path. */
const homes = /^src\/events\/[a-z-]+\.queries\.ts$|^src\/import\//;

describe('the SQL of sessions, events, snapshots and anchors', () => {
  it('is written only in the store’s query modules', () => {
    const strays = code.filter(
      (file) => !homes.test(file) && storeSql.test(readFileSync(file, 'utf8')),
    );
    expect(strays).toEqual([]);
  });

  it('is found in each of the query modules, so the check above still looks at real SQL', () => {
    const modules = code.filter((file) => /^src\/events\/[a-z-]+\.queries\.ts$/.test(file));
    expect(modules.sort()).toEqual([
      'src/events/analytics-sources.queries.ts',
      'src/events/anchors.queries.ts',
      'src/events/audit-sessions.queries.ts',
      'src/events/events.queries.ts',
      'src/events/feed-links.queries.ts',
      'src/events/feed.queries.ts',
      'src/events/sessions.queries.ts',
      'src/events/snapshots.queries.ts',
      'src/events/tenant-export.queries.ts',
      'src/events/tenant-move.queries.ts',
    ]);
    for (const file of modules) expect(storeSql.test(readFileSync(file, 'utf8'))).toBe(true);
  });

  it('is not spliced into replay: replay runs no query of its own', () => {
    const replay = code.filter((file) => file.startsWith('replay/'));
    const querying = replay.filter((file) => /\.query\s*[<(]/.test(readFileSync(file, 'utf8')));
    expect(querying).toEqual([]);
    const spliced = replay.filter((file) =>
      /\b(pageQuery|storedEvents|sessionColumns|tailRowJson)\b/.test(readFileSync(file, 'utf8')),
    );
    expect(spliced).toEqual([]);
  });

  it('leaves the session routes without a transaction of their own', () => {
    const dir = 'src/api/routes/sessions';
    const opening = readdirSync(dir).filter((file) =>
      /\bwithTenant\b|\.query\s*[<(]/.test(readFileSync(join(dir, file), 'utf8')),
    );
    expect(opening).toEqual([]);
  });
});
