import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The golden fixtures folder of a built-in rules version (`fixtures/<name>-v<version>` of the
 * agate package), found upward from this file whether it runs from src/ or dist/src/; null when
 * the package carries none.
 */
export function builtInFixturesDir(name: string, version: number): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'fixtures', `${name}-v${version}`);
    if (existsSync(join(dir, 'package.json')) || existsSync(candidate)) {
      return existsSync(candidate) ? candidate : null;
    }
    const parent = dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}
