import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';
import { gamePurity, gamePurityFor } from '../../src/testing/eslint-config.js';

/** `rule: line` for every message ESLint gives `code` as the rules file `file`. */
async function lint(config: ESLint.Options['overrideConfig'], file: string, code: string) {
  const eslint = new ESLint({ overrideConfigFile: true, overrideConfig: config });
  const [result] = await eslint.lintText(code, { filePath: file });
  return (result?.messages ?? []).map((m) => `${m.ruleId ?? 'parse'}: ${m.line}`);
}

const impure = [
  "import { readFileSync } from 'node:fs';",
  'export const roll = () => Math.random();',
  'export const now = () => Date.now();',
  'export const env = () => process.env.LEVEL;',
  "export const later = () => import('./other.js');",
  'export const sorted = (a, b) => a.localeCompare(b);',
  'export const read = () => readFileSync;',
  '',
].join('\n');

describe('agate/eslint gamePurity', () => {
  it('flags Math.random(), Date.now(), I/O imports, the environment and dynamic imports', async () => {
    expect(await lint(gamePurity, 'rules.js', impure)).toEqual([
      'no-restricted-imports: 1',
      'no-restricted-properties: 2',
      'no-restricted-globals: 3',
      'no-restricted-properties: 3',
      'no-restricted-globals: 4',
      'no-restricted-syntax: 5',
      'no-restricted-properties: 6',
    ]);
  });

  it('passes rules that fold with integers and the seeded rng', async () => {
    const pure = [
      "import { rngFromSeed } from 'agate';",
      'export const roll = (seed) => rngFromSeed(seed).between(1, 6);',
      'export const order = (a, b) => (a < b ? -1 : a > b ? 1 : 0);',
      '',
    ].join('\n');
    expect(await lint(gamePurity, 'rules.js', pure)).toEqual([]);
  });

  it('applies to the files it is given and keeps the restrictions passed to it', async () => {
    const config = gamePurityFor(['game/**/*.js'], {
      alsoRestrictImports: [{ regex: '^lodash$', message: 'no lodash' }],
      alsoRestrictSyntax: [{ selector: 'ClassDeclaration', message: 'no classes' }],
    });
    const code = "import _ from 'lodash';\nexport class A {}\nexport const r = Math.random();\n";
    expect(await lint(config, 'game/rules.js', code)).toEqual([
      'no-restricted-imports: 1',
      'no-restricted-syntax: 2',
      'no-restricted-properties: 3',
    ]);
    expect(await lint([...config, { files: ['**/*.js'] }], 'other/rules.js', code)).toEqual([]);
  });
});
