import type { Queryable } from '../src/db/index.js';

/**
 * DDL cannot take parameters, so identifiers and bounds are written into the statement. They only
 * ever come from agate's own table list, the catalog and computed month starts, never from input;
 * these helpers quote them anyway and refuse anything that is not what they expect.
 */
export function ident(name: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(name))
    throw new Error(`refusing unexpected identifier ${JSON.stringify(name)}`);
  return `"${name}"`;
}

export function timestampLiteral(date: Date): string {
  return `'${date.toISOString()}'`;
}

export function rel(schema: string, name: string): string {
  return `${ident(schema)}.${ident(name)}`;
}

async function hasTrigger(
  db: Queryable,
  schema: string,
  name: string,
  trigger: string,
): Promise<boolean> {
  const r = await db.query<{ present: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
                     JOIN pg_namespace n ON n.oid = c.relnamespace
                    WHERE n.nspname = $1 AND c.relname = $2 AND t.tgname = $3) AS present`,
    [schema, name, trigger],
  );
  return r.rows[0]?.present === true;
}

/** Statement-level triggers are not cloned to partitions: every partition gets its own TRUNCATE guard. */
export async function guardTruncate(db: Queryable, schema: string, name: string): Promise<void> {
  if (await hasTrigger(db, schema, name, 'refuse_truncate')) return;
  await db.query(
    `CREATE TRIGGER refuse_truncate BEFORE TRUNCATE ON ${rel(schema, name)} FOR EACH STATEMENT EXECUTE FUNCTION admin.refuse_change()`,
  );
}

/** A detached partition loses the row trigger cloned from its parent: archives stay append-only. */
export async function guardArchived(
  db: Queryable,
  archiveSchema: string,
  name: string,
): Promise<void> {
  await guardTruncate(db, archiveSchema, name);
  if (await hasTrigger(db, archiveSchema, name, 'refuse_update_delete')) return;
  await db.query(
    `CREATE TRIGGER refuse_update_delete BEFORE UPDATE OR DELETE ON ${rel(archiveSchema, name)} FOR EACH ROW EXECUTE FUNCTION admin.refuse_change()`,
  );
}
