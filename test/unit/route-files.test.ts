import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const routes = resolve('src/api/routes');

function sourcesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourcesUnder(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

const sources = new Map(sourcesUnder(routes).map((path) => [path, readFileSync(path, 'utf8')]));
/** A route file is one that declares a route; a registrar only calls the route files. */
const routeFiles = [...sources].filter(([, text]) => text.includes('defineRoute(')).map(([p]) => p);

function relativeImports(text: string): string[] {
  return [...text.matchAll(/from '(\.{1,2}\/[^']+)\.js'/g)].map((m) => m[1] ?? '');
}

describe('the route files', () => {
  it('never import another route file (a helper two routes share lives in a non-route module)', () => {
    expect(routeFiles.length).toBeGreaterThanOrEqual(8);
    const crossings = routeFiles.flatMap((file) =>
      relativeImports(sources.get(file) ?? '')
        .map((target) => resolve(dirname(file), `${target}.ts`))
        .filter((target) => routeFiles.includes(target))
        .map((target) => `${relative(routes, file)} imports ${relative(routes, target)}`),
    );
    expect(crossings).toEqual([]);
  });

  it('hold one route each in the session, player and API-key groups', () => {
    const grouped = /tag: '(sessions|players|admin)'|const tag = '(sessions|players|admin)'/;
    const crowded = routeFiles
      .filter((file) => grouped.test(sources.get(file) ?? ''))
      .map((file) => ({
        file: relative(routes, file),
        routes: (sources.get(file) ?? '').split('defineRoute(').length - 1,
      }))
      .filter((entry) => entry.routes !== 1);
    expect(crowded).toEqual([]);
  });
});
