import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { gamePurityFor } from './src/testing/eslint-config.js';

// Code in one folder reaches another folder only through that folder's index.ts.
const boundaries = {
  patterns: [
    {
      regex: String.raw`^\.\./(\.\./)*(?!.*index\.js$)[^.][^/]*/.+`,
      message: 'Import another folder through its index.js, not its internals.',
    },
  ],
};

const houseSyntax = [
  { selector: 'TSEnumDeclaration', message: 'Use a const union instead of an enum.' },
  { selector: 'TSModuleDeclaration[kind="namespace"]', message: 'No namespaces: use modules.' },
  { selector: 'ExportAllDeclaration', message: 'Export the public surface by name.' },
  { selector: 'ExportDefaultDeclaration', message: 'Use named exports.' },
];

// The arrows that must never exist between parts (docs/architecture.md draws the allowed ones;
// this table is its executable form). Type-only imports count: a type is a dependency too.
const databasePackages = ['pg', 'pg-copy-streams', 'drizzle-orm', '@electric-sql/pglite'];
const servicePackages = ['ioredis', 'bullmq', 'fastify'];
const above = [
  'src/feed',
  'src/analytics',
  'src/jobs',
  'src/cache',
  'src/verdicts',
  'src/api',
  'src/cli',
  'src/runtime',
  'src/testing',
];
const forbiddenArrows = [
  {
    from: ['src/game', 'src/errors', 'src/hashing'],
    parts: ['src/db', 'src/events', 'src/snapshots', 'replay', 'partitions', ...above],
    packages: [...databasePackages, ...servicePackages],
    why: 'the rules are pure (no I/O); the store and replay depend on them, never the reverse',
  },
  {
    from: ['src/events'],
    parts: ['src/snapshots', 'replay', 'partitions', ...above],
    packages: servicePackages,
    why: 'the store only keeps the log; what follows from it consumes the feed',
  },
  {
    from: ['src/feed'],
    parts: [
      'src/snapshots',
      'replay',
      'partitions',
      ...above.filter((part) => part !== 'src/feed'),
    ],
    packages: servicePackages,
    why: 'the feed delivers the log to consumers; the runtime and the edges wire it, not the reverse',
  },
  {
    from: ['src/analytics'],
    parts: [
      'src/snapshots',
      'partitions',
      ...above.filter((part) => part !== 'src/feed' && part !== 'src/analytics'),
    ],
    packages: servicePackages,
    why: 'analytics.events is a consumer of the feed; the runtime and the edges run and serve it, not the reverse',
  },
  {
    from: ['src/snapshots'],
    parts: ['partitions', ...above],
    packages: servicePackages,
    why: 'snapshots are written by whoever calls them; queues and caches call in, not out',
  },
  {
    from: ['src/verdicts'],
    parts: [
      'partitions',
      ...above.filter((part) => part !== 'src/cache' && part !== 'src/verdicts'),
    ],
    packages: ['bullmq', 'fastify'],
    why: 'verdicts judge appends from the store, replay and the hot state; the runtime wires them in, not the reverse',
  },
  {
    from: ['replay'],
    parts: ['src/snapshots', 'partitions', ...above],
    packages: servicePackages,
    why: 'replay answers the API, the CLI and the jobs; it never calls them',
  },
  {
    from: ['src/db'],
    parts: ['src/game', 'src/events', 'src/snapshots', 'replay', 'partitions', ...above],
    packages: servicePackages,
    why: 'the database layer is the bottom: everything uses it, it uses nothing of theirs',
  },
  {
    // The one part that imports code by a path known only at run time: the studio's game modules.
    from: ['src/config'],
    parts: ['src/db', 'src/events', 'src/snapshots', 'replay', 'partitions', ...above],
    packages: [...databasePackages, ...servicePackages],
    why: 'the configuration loader builds the catalog of rules; the runtime and the edges use it, never the reverse',
    dynamicImport:
      'game modules and the configuration file are imported by the path they are found at',
  },
  {
    from: ['src/testing'],
    parts: [
      'src/db',
      'src/events',
      'src/snapshots',
      'partitions',
      ...above.filter((part) => part !== 'src/testing'),
    ],
    packages: [...databasePackages, ...servicePackages],
    why: "agate/testing runs in a studio's test runner: it proves rules with the pure fold (game, replay, hashing, fixtures), never with the store or the services",
    dynamicImport:
      "the fresh-process child imports the studio's rules module by the path it is given",
  },
  {
    from: ['partitions'],
    parts: ['src/game', 'src/events', 'src/snapshots', 'replay', ...above],
    packages: servicePackages,
    why: 'partition maintenance works on tables through src/db, never through the store',
  },
];

/** Matches a relative import of `part` (`src/x` or a top-level folder) from any depth. */
function partImport(part) {
  const path = part.startsWith('src/') ? `(src/)?${part.slice('src/'.length)}` : part;
  return String.raw`^(\.\./)+${path}(/|$)`;
}

function arrowRules({ from, parts, packages, why, dynamicImport }) {
  const importExpression = {
    selector: 'ImportExpression',
    message: 'Import statically, so the architecture rules see the arrow (docs/architecture.md).',
  };
  return {
    'no-restricted-syntax': [
      'error',
      ...houseSyntax,
      ...(dynamicImport === undefined ? [importExpression] : []),
    ],
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          ...boundaries.patterns,
          ...[
            ...parts.map((part) => ({ to: part, regex: partImport(part) })),
            ...packages.map((name) => ({ to: name, regex: `^${name}(/|$)` })),
          ].map(({ to, regex }) => ({
            regex,
            message: `${from.join(', ')} must not import ${to}: ${why} (docs/architecture.md).`,
          })),
        ],
      },
    ],
  };
}

const architecture = forbiddenArrows.map((arrow) => ({
  files: arrow.from.map((folder) => `${folder}/**/*.ts`),
  rules: arrowRules(arrow),
}));

// The rules are pure (src/testing/eslint-config.js, shipped as agate/eslint). That config comes
// after the architecture's for src/game and sets the same two rules, so it keeps theirs.
const gameArrows = arrowRules(forbiddenArrows.find(({ from }) => from.includes('src/game')));
const gamePurity = gamePurityFor(['src/game/**/*.ts'], {
  alsoRestrictImports: gameArrows['no-restricted-imports'][1].patterns,
  alsoRestrictSyntax: gameArrows['no-restricted-syntax'].slice(1),
});

export default tseslint.config(
  // examples/ are separate packages built against the packed agate, each with its own checks.
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'coverage/**',
      'bench/results/**',
      '.agate/**',
      'examples/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: true },
      ],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': [
        'error',
        { fixStyle: 'separate-type-imports' },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-restricted-syntax': ['error', ...houseSyntax],
    },
  },
  {
    files: ['src/**/*.ts', 'replay/**/*.ts', 'partitions/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', boundaries] },
  },
  ...architecture,
  ...gamePurity,
  {
    files: [
      '*.config.ts',
      '*.config.js',
      'eslint.config.js',
      'drizzle.config.ts',
      'vitest.config.ts',
    ],
    rules: { 'no-restricted-syntax': 'off' },
  },
  {
    files: ['**/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
);
