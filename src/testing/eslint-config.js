// The purity rules agate applies to its own rules (src/game/), for any rules module: agate's
// eslint.config.js and a studio's (`import { gamePurity } from 'agate/eslint'`) use this one
// definition. Plain JavaScript, so an ESLint config can import it without a build step.

/** @typedef {import('eslint').Linter.Config} Config */

const noClock = 'No clocks in rules: record what time means in the event.';
const notSeeded = 'Randomness comes only from the recorded seeds (the rng evolve receives).';

/** Globals that read the clock, chance, the locale, the environment or the network. */
export const impureGlobals = [
  { name: 'Date', message: noClock },
  { name: 'performance', message: 'No clocks in rules.' },
  { name: 'setTimeout', message: 'No timers in rules: a fold runs to its end at once.' },
  { name: 'setInterval', message: 'No timers in rules: a fold runs to its end at once.' },
  { name: 'Intl', message: 'Locale-dependent: not deterministic across machines.' },
  { name: 'crypto', message: notSeeded },
  { name: 'process', message: 'No environment in rules: put what the rules need in the config.' },
  { name: 'fetch', message: 'No I/O in rules: what an action needs is recorded in its event.' },
  { name: 'WeakRef', message: 'Depends on the garbage collector: not deterministic.' },
  { name: 'FinalizationRegistry', message: 'Depends on the garbage collector: not deterministic.' },
];

/** Properties whose results are unseeded, or differ between engines or locales. */
export const impureProperties = [
  ...['random', 'sin', 'cos', 'tan', 'exp', 'log', 'pow', 'hypot'].map((property) => ({
    object: 'Math',
    property,
    message: 'Not deterministic across engines (or not seeded): use integers and the seeded rng.',
  })),
  { object: 'Date', property: 'now', message: noClock },
  { property: 'localeCompare', message: 'Locale-dependent: compare code units instead.' },
];

const ioModules = [
  'fs',
  'net',
  'http',
  'https',
  'http2',
  'dgram',
  'dns',
  'tls',
  'child_process',
  'cluster',
  'worker_threads',
  'os',
  'process',
  'readline',
  'perf_hooks',
  'timers',
  'vm',
  'crypto',
];

/** `no-restricted-imports` patterns: Node's I/O, clock and randomness modules. */
export const impureImportPatterns = [
  {
    regex: String.raw`^(node:)?(${ioModules.join('|')})(/|$)`,
    message: 'No I/O, clock or unseeded randomness in rules: they fold recorded events only.',
  },
];

/** `no-restricted-syntax` entries: loading code at run time. */
export const impureSyntax = [
  { selector: 'ImportExpression', message: 'No dynamic imports in rules: import statically.' },
  {
    selector: "CallExpression[callee.name='require']",
    message: 'No require in rules: import statically.',
  },
];

/**
 * The purity rules for the files matching `files`. ESLint replaces a rule's options when a later
 * config sets the same rule for a file, so pass the `no-restricted-imports` patterns and
 * `no-restricted-syntax` entries your config already applies to those files: they stay on (a
 * kept selector replaces the purity entry of the same selector).
 *
 * @param {string[]} files
 * @param {{ alsoRestrictImports?: unknown[]; alsoRestrictSyntax?: unknown[] }} [keep]
 * @returns {Config[]}
 */
export function gamePurityFor(files, keep = {}) {
  const kept = keep.alsoRestrictSyntax ?? [];
  const keptSelectors = new Set(
    kept.map((entry) => /** @type {{ selector?: string }} */ (entry).selector),
  );
  const syntax = impureSyntax.filter(({ selector }) => !keptSelectors.has(selector));
  return [
    {
      name: 'agate/game-purity',
      files,
      rules: {
        'no-restricted-globals': ['error', ...impureGlobals],
        'no-restricted-properties': ['error', ...impureProperties],
        'no-restricted-imports': [
          'error',
          { patterns: [...(keep.alsoRestrictImports ?? []), ...impureImportPatterns] },
        ],
        'no-restricted-syntax': ['error', ...kept, ...syntax],
      },
    },
  ];
}

/**
 * The purity rules for every file the rest of the config lints: spread it into a flat config
 * that lints only the rules module (or use `gamePurityFor(files)`).
 *
 * @type {Config[]}
 */
export const gamePurity = gamePurityFor(['**/*.{js,mjs,cjs,ts,mts,cts}']);
