import { findJsonProblem } from './check-json.js';

/** The longest seed a session may be given, in UTF-16 code units: the same for HTTP, library and CLI. */
export const maxSeedLength = 256;

/**
 * Why `seed` cannot be a session's seed (stored and hashed exactly as given), or undefined when it
 * can: a string of 1 to `maxSeedLength` characters without `\u0000` or unpaired surrogates.
 */
export function findSeedProblem(seed: unknown): string | undefined {
  if (typeof seed !== 'string') return 'seed must be a string (or leave it out to get a drawn one)';
  if (seed.length === 0)
    return 'seed is empty; give at least one character (or leave it out to get a drawn one)';
  if (seed.length > maxSeedLength) {
    return `seed is ${seed.length} characters, over the limit of ${maxSeedLength}; use a shorter seed`;
  }
  return findJsonProblem(seed, 1, 'seed');
}
