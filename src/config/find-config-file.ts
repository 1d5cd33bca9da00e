import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AgateError } from '../errors/index.js';

/** The names looked for in the current directory, in this order, when AGATE_CONFIG is not set. */
export const configFileNames = [
  'agate.config.json',
  'agate.config.js',
  'agate.config.mjs',
] as const;

/**
 * The configuration file's absolute path: the file AGATE_CONFIG names (absolute or relative to
 * `cwd`; it must exist), else the first of `configFileNames` in `cwd`, else null (no
 * configuration: archive-gate only).
 */
export function findConfigFile(env: NodeJS.ProcessEnv, cwd: string): string | null {
  const named = env.AGATE_CONFIG?.trim();
  if (named !== undefined && named !== '') {
    const path = resolve(cwd, named);
    if (!existsSync(path) || !statSync(path).isFile()) {
      throw new AgateError(
        'invalid_config',
        `AGATE_CONFIG names ${path}, which is not a file; point it at your agate.config.json (or .js, .mjs), or unset it to use the one in the current directory.`,
      );
    }
    return path;
  }
  for (const name of configFileNames) {
    const path = join(cwd, name);
    if (existsSync(path) && statSync(path).isFile()) return path;
  }
  return null;
}
