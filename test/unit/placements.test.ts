import { describe, expect, it } from 'vitest';
import { isAgateError } from '../../src/errors/index.js';
import {
  databaseNameOf,
  databaseUrlVariable,
  parsePlacement,
  readDatabaseServers,
} from '../../src/placements/index.js';

function codeOf(work: () => unknown): string | undefined {
  try {
    work();
  } catch (error) {
    return isAgateError(error) ? error.code : 'not an AgateError';
  }
  return undefined;
}

describe('parsePlacement', () => {
  it('reads shared and database:<name>', () => {
    expect(parsePlacement('shared')).toBe('shared');
    expect(parsePlacement('database:eu1')).toBe('database:eu1');
    expect(databaseNameOf('database:eu_2')).toBe('eu_2');
    expect(databaseNameOf('shared')).toBeNull();
  });

  it('refuses anything else with invalid_request', () => {
    const bad = [
      '',
      'Shared',
      'schema',
      'database:',
      'database:EU1',
      'database:1eu',
      'database:eu1 ',
      'database:eu-1',
      `database:${'a'.repeat(41)}`,
      null,
      7,
    ];
    for (const text of bad) expect(codeOf(() => parsePlacement(text))).toBe('invalid_request');
  });
});

describe('readDatabaseServers', () => {
  it('names each server by the lower-cased suffix of AGATE_DATABASE_URL_<NAME>', () => {
    const servers = readDatabaseServers({
      DATABASE_URL: 'postgres://root@127.0.0.1/control',
      AGATE_DATABASE_URL_EU1: 'postgres://root@10.0.0.1:5432/agate',
      AGATE_DATABASE_URL_BIG_TENANT: ' postgresql://root@10.0.0.2/agate ',
    });
    expect([...servers]).toEqual([
      ['eu1', 'postgres://root@10.0.0.1:5432/agate'],
      ['big_tenant', 'postgresql://root@10.0.0.2/agate'],
    ]);
    expect(databaseUrlVariable('big_tenant')).toBe('AGATE_DATABASE_URL_BIG_TENANT');
  });

  it('refuses a name, an empty value or a URL that would leave tenants without their server', () => {
    for (const env of [
      { AGATE_DATABASE_URL_eu1: 'postgres://h/d' },
      { AGATE_DATABASE_URL_: 'postgres://h/d' },
      { 'AGATE_DATABASE_URL_EU-1': 'postgres://h/d' },
      { AGATE_DATABASE_URL_EU1: '  ' },
      { AGATE_DATABASE_URL_EU1: 'not a url' },
      { AGATE_DATABASE_URL_EU1: 'mysql://h/d' },
    ]) {
      expect(codeOf(() => readDatabaseServers(env))).toBe('invalid_config');
    }
  });
});
