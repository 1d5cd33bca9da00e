import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { relative } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const child = fileURLToPath(new URL('../support/import-trace-child.ts', import.meta.url));
const databaseModules = ['pg', '@electric-sql/pglite', 'drizzle-orm'];

/** Where each module a fresh process loaded for `path` lives: `src/game`, `pkg:zod`, `node:fs`. */
async function originsOf(path: string): Promise<Set<string>> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', child, path], {
    cwd: root,
  });
  const origins = (JSON.parse(stdout) as string[]).map((url) => {
    if (!url.startsWith('file:')) return url;
    const file = relative(root, fileURLToPath(url)).split('/');
    const inPackages = file.lastIndexOf('node_modules');
    if (inPackages < 0) return file.slice(0, file[0] === 'src' ? 2 : 1).join('/');
    const scoped = file[inPackages + 1]?.startsWith('@') === true;
    return `pkg:${file.slice(inPackages + 1, inPackages + (scoped ? 3 : 2)).join('/')}`;
  });
  return new Set(origins);
}

describe('the rules import nothing of the store', () => {
  it('loads only the rules, their errors and zod when src/game is imported in a fresh process', async () => {
    const origins = await originsOf('src/game/index.ts');
    expect([...origins].sort()).toEqual(['pkg:zod', 'src/errors', 'src/game']);
  });

  it('sees the database modules when a fresh process imports the store', async () => {
    // The same trace on the store: if it missed modules, the assertion above would prove nothing.
    const origins = await originsOf('src/events/index.ts');
    expect(origins).toContain('src/db');
    for (const name of databaseModules) expect(origins).toContain(`pkg:${name}`);
  });
});
