import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import { AgateError } from '../errors/index.js';

function isPath(specifier: string): boolean {
  return specifier.startsWith('./') || specifier.startsWith('../') || isAbsolute(specifier);
}

/**
 * The file `specifier` names: a path relative to `configDir`, or a package specifier resolved
 * from `configDir` (through node's resolution: the package's `exports` with the `default` or
 * `require` condition, or its `main`). `configPath` is for messages.
 */
export function resolveGameModule(
  specifier: string,
  configDir: string,
  configPath: string,
): string {
  if (isPath(specifier)) {
    const path = resolve(configDir, specifier);
    if (existsSync(path)) return path;
    throw new AgateError(
      'invalid_game_module',
      `Game module ${specifier} (listed in ${configPath}) is not at ${path}; build it, or fix "module" (a path relative to the configuration file).`,
    );
  }
  try {
    return createRequire(join(configDir, 'agate.config.js')).resolve(specifier);
  } catch (error) {
    throw new AgateError(
      'invalid_game_module',
      `Game module ${specifier} (listed in ${configPath}) cannot be resolved from ${configDir}: install the package there, or write "module" as a path starting with ./`,
      { cause: error },
    );
  }
}
