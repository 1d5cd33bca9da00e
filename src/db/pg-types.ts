import pg from 'pg';

function parseInt8(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) {
    throw new RangeError(`int8 value ${text} is beyond 2^53 and cannot be a JS number`);
  }
  return value;
}

const int8Oid = 20;

/** int8 as JS numbers (sequences stay below 2^53); every other type as node-postgres parses it. */
export const agateTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary'): (value: string) => unknown {
    if (oid === int8Oid && format !== 'binary') return parseInt8;
    return pg.types.getTypeParser(oid, format) as (value: string) => unknown;
  },
};
