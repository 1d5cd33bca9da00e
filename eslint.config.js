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
      'no-restricted-syntax': [
        'error',
        { selector: 'TSEnumDeclaration', message: 'Use a const union instead of an enum.' },
        {
          selector: 'TSModuleDeclaration[kind="namespace"]',
          message: 'No namespaces: use modules.',
        },
        { selector: 'ExportAllDeclaration', message: 'Export the public surface by name.' },
        { selector: 'ExportDefaultDeclaration', message: 'Use named exports.' },
      ],
    },
  },
  {
    files: ['src/**/*.ts', 'replay/**/*.ts', 'partitions/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', boundaries] },
  },
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
