import fc from 'fast-check';
import { foldEqualsReplay } from './fold-equals-replay.js';
import { freshProcessAgrees, SESSIONS_PER_PROCESS } from './fresh-process-agrees.js';
import type { FreshProcessInput } from './fresh-process-agrees.js';
import { generatedSessions, storedSession } from './generated-session.js';
import { rejectionsNeverThrow } from './rejections-never-throw.js';
import { stateSurvivesJson } from './state-survives-json.js';

export const determinismProperties = [
  'foldEqualsReplay',
  'stateSurvivesJson',
  'freshProcessAgrees',
  'rejectionsNeverThrow',
] as const;

export type DeterminismProperty = (typeof determinismProperties)[number];

export type DeterminismOptions = FreshProcessInput & {
  /** fast-check's seed (default 20261202, fixed: every run tries the same sessions). */
  seed?: number;
  /** Sessions per property (default 100; the fresh-process property folds them 10 per process). */
  numRuns?: number;
  /** The `path` of a reported failure, to replay just that case (with its `seed` and `properties`). */
  path?: string;
  /** The properties to run (default all four). */
  properties?: readonly DeterminismProperty[];
};

export const DEFAULT_DETERMINISM_SEED = 20261202;

type RunParams = {
  seed: number;
  numRuns: number;
  verbose: 0;
  path?: string;
  endOnFailure?: boolean;
};

async function runProperty(
  name: DeterminismProperty,
  options: FreshProcessInput,
  params: RunParams,
): Promise<void> {
  switch (name) {
    case 'foldEqualsReplay':
      return fc.assert(foldEqualsReplay(options), params);
    case 'stateSurvivesJson':
      return fc.assert(stateSurvivesJson(options), params);
    case 'rejectionsNeverThrow':
      return fc.assert(rejectionsNeverThrow(options), params);
    case 'freshProcessAgrees': {
      // Every shrinking step would be another process: the first failing batch is reported as is.
      const numRuns = Math.max(1, Math.ceil(params.numRuns / SESSIONS_PER_PROCESS));
      return fc.assert(freshProcessAgrees(options), { ...params, numRuns, endOnFailure: true });
    }
  }
}

/**
 * Refuses a generator whose sessions hold nothing the store accepts (a misspelt type, data its
 * schema refuses): every property would pass without folding a single event.
 */
function assertGeneratorPlays(options: FreshProcessInput, seed: number): void {
  const sample = fc.sample(generatedSessions(options), { seed, numRuns: 20 });
  const stored = sample.map((generated) => storedSession(options.rules, generated));
  if (stored.some((s) => s.events.length > 0)) return;
  const refusal = stored.find((s) => s.firstRefusal !== null)?.firstRefusal;
  throw new Error(
    `The events arbitrary gave ${options.rules.name} v${options.rules.version} no event the store accepts in 20 sessions${refusal === undefined ? ' (they were empty)' : `; the first refused: ${refusal}`}. Generate events of the rules' own types, versions and schemas.`,
  );
}

/**
 * Runs every determinism property on `rules` with `fc.assert` and throws on the first failure,
 * naming the property and the rules; the error carries fast-check's report (seed, path,
 * counterexample). `module` must be compiled JavaScript exporting the same rules (the fresh
 * process imports it, and Node 20 cannot import TypeScript), unless `execArgv` brings a loader
 * such as `['--import', 'tsx']`. To replay a failure, pass back its `seed` and `path` with
 * `properties: [the failed one]`.
 */
export async function proveDeterminism(options: DeterminismOptions): Promise<void> {
  const seed = options.seed ?? DEFAULT_DETERMINISM_SEED;
  const numRuns = options.numRuns ?? 100;
  const replay = options.path === undefined ? {} : { path: options.path, endOnFailure: true };
  const params: RunParams = { seed, numRuns, verbose: 0, ...replay };
  assertGeneratorPlays(options, seed);
  for (const name of options.properties ?? determinismProperties) {
    try {
      await runProperty(name, options, params);
    } catch (error) {
      const report = error instanceof Error ? error.message : String(error);
      const cause = error instanceof Error ? error.cause : undefined;
      const failure = cause instanceof Error ? `${cause.message}\n` : '';
      throw new Error(
        `${name} fails for ${options.rules.name} v${options.rules.version}: ${failure}Replay it with proveDeterminism({ ..., seed, path, properties: ['${name}'] }) from this report:\n${report}`,
        { cause: error },
      );
    }
  }
}
