import js from '@eslint/js';
import tseslint from 'typescript-eslint';

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

const architecture = forbiddenArrows.map(({ from, parts, packages, why }) => ({
  files: from.map((folder) => `${folder}/**/*.ts`),
  rules: {
    'no-restricted-syntax': [
      'error',
      ...houseSyntax,
      {
        selector: 'ImportExpression',
        message:
          'Import statically, so the architecture rules see the arrow (docs/architecture.md).',
      },
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
  },
}));

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'bench/results/**', '.agate/**'] },
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
  {
    // The rules are pure: no clock, no Math.random, nothing that differs between engines or locales.
    files: ['src/game/**/*.ts'],
    rules: {
      'no-restricted-globals': [
        'error',
        { name: 'Date', message: 'No clocks in rules: record what time means in the event.' },
        { name: 'performance', message: 'No clocks in rules.' },
        { name: 'Intl', message: 'Locale-dependent: not deterministic across machines.' },
        {
          name: 'crypto',
          message: 'Randomness comes only from the recorded seeds (src/game/rng.ts).',
        },
      ],
      'no-restricted-properties': [
        'error',
        ...['random', 'sin', 'cos', 'tan', 'exp', 'log', 'pow', 'hypot'].map((property) => ({
          object: 'Math',
          property,
          message:
            'Not deterministic across engines (or not seeded): use integers and the seeded rng.',
        })),
        { property: 'localeCompare', message: 'Locale-dependent: compare code units instead.' },
      ],
    },
  },
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
