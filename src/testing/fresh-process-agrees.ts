import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { describeEvent, generatedSessions, storedSession } from './generated-session.js';
import type { GeneratedSession, PropertyInput } from './generated-session.js';
import { hashesAlong } from './hashes-along.js';
import type { FoldInput } from './hashes-along.js';

export type FreshProcessInput = PropertyInput & {
  /**
   * The rules module as the fresh process imports it: a file URL, or a path (relative to the
   * current directory). Node 20 cannot import TypeScript: point at compiled JavaScript, or pass
   * a loader in `execArgv`.
   */
  module: URL | string;
  /** The named export holding the rules (a GameRules or an array of versions); default `rules`. */
  export?: string;
  /** Node options of the fresh process, e.g. `['--import', 'tsx']` to import TypeScript through tsx. */
  execArgv?: readonly string[];
};

/** Sessions per fresh process: a spawn costs far more than a fold. */
export const SESSIONS_PER_PROCESS = 10;

function moduleHref(module: URL | string): string {
  if (module instanceof URL) return module.href;
  return module.startsWith('file:') ? module : pathToFileURL(resolve(module)).href;
}

/**
 * The child script beside this module: `fold-child.js` in agate's dist. When this module itself
 * runs from TypeScript source (agate's own tests), the child is `fold-child.ts` and runs under tsx.
 */
function childCommand(execArgv: readonly string[]): string[] {
  const fromSource = import.meta.url.endsWith('.ts');
  const child = fileURLToPath(
    new URL(fromSource ? './fold-child.ts' : './fold-child.js', import.meta.url),
  );
  const loader = fromSource && !execArgv.includes('tsx') ? ['--import', 'tsx'] : [];
  return [...loader, ...execArgv, child];
}

/** Folds `sessions` in a new `node` process; resolves with the state hashes along each. */
export function foldInFreshProcess(
  input: FreshProcessInput,
  sessions: readonly FoldInput[],
): Promise<string[][]> {
  const request = { module: moduleHref(input.module), export: input.export ?? 'rules', sessions };
  return new Promise((done, fail) => {
    const proc = spawn(process.execPath, childCommand(input.execArgv ?? []), {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    proc.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    proc.stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
    proc.on('error', fail);
    proc.on('close', (code) => {
      if (code === 0) done(JSON.parse(out) as string[][]);
      else
        fail(
          new Error(
            `The fresh process folding ${request.module} exited with ${code}: ${err.trim()}`,
          ),
        );
    });
    proc.stdin.end(JSON.stringify(request));
  });
}

/**
 * Replay in a fresh Node process gives the same state hashes, event by event, as this process:
 * the harness spawns `node` on a child script shipped in agate's dist, which imports `module`
 * (compiled JavaScript; Node 20 cannot import .ts, so a studio without a build step passes
 * `execArgv: ['--import', 'tsx']`) and folds up to 10 sessions per process with agate's own fold.
 * It catches rules that read what a process accumulates (a module-level counter or cache, the
 * clock, the environment).
 */
export function freshProcessAgrees(
  input: FreshProcessInput,
): fc.IAsyncPropertyWithHooks<[GeneratedSession[]]> {
  const { rules } = input;
  const sessions = fc.array(generatedSessions(input), {
    minLength: 1,
    maxLength: SESSIONS_PER_PROCESS,
  });
  return fc.asyncProperty(sessions, async (generated) => {
    const stored = generated.map((g) => storedSession(rules, g));
    const here = stored.map((s) => hashesAlong(rules, s));
    const there = await foldInFreshProcess(input, stored);
    stored.forEach((s, i) => {
      const mine = here[i] ?? [];
      const theirs = there[i] ?? [];
      const at = mine.findIndex((hash, k) => theirs[k] !== hash);
      if (at === -1) return;
      const event = s.events[at - 1];
      const when = event === undefined ? 'before the first event' : `after ${describeEvent(event)}`;
      throw new Error(
        `In session ${i + 1} of ${stored.length}, a fresh Node process gives state hash ${theirs[at] ?? '(none)'} ${when}, this process ${mine[at]}: the rules read something besides the state, the event and its rng (a module-level counter or cache, the clock, the environment).`,
      );
    });
  });
}
