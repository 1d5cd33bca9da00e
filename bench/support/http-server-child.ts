// `agate serve` for the bench game: the HTTP API in a process of its own, as users run it.
// Usage (from http-server.ts): tsx http-server-child.ts <databaseUrl> <poolSize>
import { pino } from 'pino';
import { createServer } from '../../src/api/index.js';
import { createPool } from '../../src/db/index.js';
import { createAgate } from '../../src/runtime/index.js';
import { benchGames } from './bench-game.js';

const [url, poolSize] = process.argv.slice(2);
if (url === undefined || poolSize === undefined) {
  throw new Error('usage: http-server-child.ts <databaseUrl> <poolSize>');
}
const pool = createPool({
  connectionString: url,
  max: Number(poolSize),
  applicationName: 'agate-bench-http',
});
const agate = createAgate({ pool, games: benchGames });
const app = createServer({ agate, logger: pino({ level: 'warn' }), rateLimit: null });
const address = await app.listen({ port: 0, host: '127.0.0.1' });
// Open every connection before the clock starts, as the library rows do.
const clients = await Promise.all(Array.from({ length: Number(poolSize) }, () => pool.connect()));
for (const client of clients) client.release();
console.log(`listening ${address}`);
process.on('SIGTERM', () => {
  void app
    .close()
    .then(() => agate.close())
    .then(() => pool.end());
});
