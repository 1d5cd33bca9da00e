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
