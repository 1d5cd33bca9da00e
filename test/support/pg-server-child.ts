// Starts a PostgreSQL server and never stops it, to show that pg-servers.ts stops it anyway:
// `exit` ends the process normally once the server is up, `wait` stays up until a signal.
import { startPostgres } from './pg-servers.js';

const mode = process.argv[2];
if (mode !== 'exit' && mode !== 'wait') throw new Error(`usage: pg-server-child.ts exit|wait`);
const server = await startPostgres({ name: `child-${mode}` });
process.stdout.write(`${JSON.stringify({ url: server.url('postgres'), dir: server.dir })}\n`);
if (mode === 'wait') setInterval(() => undefined, 60_000);
