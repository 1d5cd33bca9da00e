// The contrast the NOTIFY rows need: appends that notify inside their own transaction, as a
// naive feed would. Every call of game.append_events on this pool runs in BEGIN; append;
// pg_notify; COMMIT on one client; everything else goes to the pool unchanged.
import type { Pool, PoolClient } from '../../src/db/index.js';

async function appendAndNotify(
  pool: Pool,
  channel: string,
  text: string,
  values: unknown[],
): Promise<unknown> {
  const client: PoolClient = await pool.connect();
  let broken = false;
  try {
    await client.query('BEGIN');
    const result = await client.query(text, values);
    await client.query('SELECT pg_notify($1, $2)', [channel, '']);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {
      broken = true;
    });
    throw error;
  } finally {
    client.release(broken);
  }
}

export function notifyingInsideAppends(pool: Pool, channel: string): Pool {
  return new Proxy(pool, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (property !== 'query') {
        return typeof value === 'function'
          ? (value as (...a: unknown[]) => unknown).bind(target)
          : value;
      }
      return (text: unknown, values?: unknown[]) =>
        typeof text === 'string' && text.includes('game.append_events(')
          ? appendAndNotify(target, channel, text, values ?? [])
          : target.query(text as string, values);
    },
  });
}
