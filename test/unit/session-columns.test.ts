import { getTableColumns } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { sessions } from '../../src/db/index.js';
import { sessionColumns } from '../../src/events/sessions.queries.js';

describe('sessionColumns', () => {
  it('reads every column of game.sessions under the name Drizzle gives it', () => {
    const read = [...sessionColumns.matchAll(/\bs\.(\w+)(?: AS "(\w+)")?/g)].map(
      (m): [string, string] => [m[2] ?? m[1] ?? '', m[1] ?? ''],
    );
    const columns = Object.entries(getTableColumns(sessions)).map(
      ([key, column]): [string, string] => [key, column.name],
    );
    expect(new Map(read)).toEqual(new Map(columns));
    expect(read).toHaveLength(columns.length);
  });
});
