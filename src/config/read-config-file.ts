import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { AgateError } from '../errors/index.js';
import { parseConfigFile } from './config-file.js';
import type { ConfigFile } from './config-file.js';

async function readJson(path: string): Promise<unknown> {
  const text = await readFile(path, 'utf8').catch((error: unknown) => {
    throw new AgateError(
      'invalid_config',
      `Configuration ${path} cannot be read: ${String(error)}.`,
      {
        cause: error,
      },
    );
  });
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new AgateError(
      'invalid_config',
      `Configuration ${path} is not valid JSON (${(error as Error).message}); fix the file.`,
      { cause: error },
    );
  }
}

async function readModule(path: string): Promise<unknown> {
  let loaded: Record<string, unknown>;
  try {
    loaded = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (error) {
    throw new AgateError(
      'invalid_config',
      `Configuration ${path} failed to import (${String(error)}); fix the module so that node can import it.`,
      { cause: error },
    );
  }
  if (!('default' in loaded)) {
    throw new AgateError(
      'invalid_config',
      `Configuration ${path} has no default export; write export default { games: [...] }.`,
    );
  }
  return loaded.default;
}

/** Reads and validates the configuration at `path`: JSON, or a module whose default export it is. */
export async function readConfigFile(path: string): Promise<ConfigFile> {
  const content = extname(path) === '.json' ? await readJson(path) : await readModule(path);
  return parseConfigFile(path, content);
}
