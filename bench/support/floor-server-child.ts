// The HTTP floor: the least any HTTP server can do for an append on this machine. node:http, one
// route, the body parsed with JSON.parse and then the minimal correct append (lock the session
// row, insert, commit, named prepared statements), nothing else: no auth, no validation, no hash
// chain, no derived data. What a row of agate's costs above this is agate's; what this costs
// below the minimal correct append is the HTTP hop itself (and its load client) on these cores.
// Usage (from floor-server.ts): tsx floor-server-child.ts <databaseUrl> <poolSize> <tenantId>
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { uuidv7 } from 'uuidv7';
import { createPool } from '../../src/db/index.js';
import { bumpSql, fixedHash, insertSql } from './minimal-append.js';

const [url, poolSize, tenantId] = process.argv.slice(2);
if (url === undefined || poolSize === undefined || tenantId === undefined) {
  throw new Error('usage: floor-server-child.ts <databaseUrl> <poolSize> <tenantId>');
}
const pool = createPool({
  connectionString: url,
  max: Number(poolSize),
  applicationName: 'agate-bench-floor',
});

type Body = { events: Array<{ type: string; data: unknown }> };

async function append(sessionId: string, body: Body): Promise<number> {
  const batch = body.events.length;
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query('BEGIN');
    const bumped = await client.query<{ last_sequence: number }>({
      name: 'floor-bump',
      text: bumpSql,
      values: [sessionId, batch],
    });
    const last = bumped.rows[0]?.last_sequence;
    if (last === undefined) throw new Error(`session ${sessionId} not found`);
    const values: unknown[] = [tenantId, sessionId, last - batch + 1, fixedHash];
    for (const e of body.events) values.push(uuidv7(), e.type, JSON.stringify(e.data));
    await client.query({ name: `floor-insert-${batch}`, text: insertSql(batch), values });
    await client.query('COMMIT');
    return last;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {
      broken = true;
    });
    throw error;
  } finally {
    client.release(broken);
  }
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  const match = /^\/append\/([0-9a-f-]{36})$/.exec(req.url ?? '');
  if (req.method !== 'POST' || match?.[1] === undefined) {
    reply(res, 404, { error: `no route ${req.method ?? ''} ${req.url ?? ''}` });
    return;
  }
  const sessionId = match[1];
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    void (async () => {
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Body;
        reply(res, 200, { lastSequence: await append(sessionId, body) });
      } catch (error) {
        reply(res, 500, { error: error instanceof Error ? error.message : String(error) });
      }
    })();
  });
}

const server = createServer({ keepAliveTimeout: 60_000 }, handle);
server.listen(0, '127.0.0.1', () => {
  void (async () => {
    // Open every connection before the clock starts, as the other rows do.
    const clients = await Promise.all(
      Array.from({ length: Number(poolSize) }, () => pool.connect()),
    );
    for (const client of clients) client.release();
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    console.log(`listening http://127.0.0.1:${port}`);
  })();
});
process.on('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  void pool.end();
});
