// Folds sessions read as JSON from stdin and prints their state hashes: run in a separate Node
// process to show that a replay does not depend on the process that ran it.
import { foldAll } from '../../replay/index.js';
import type { FoldSession, ReplayEvent } from '../../replay/index.js';
import { archiveGateV1 } from '../../src/game/index.js';

const chunks: Buffer[] = [];
for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
const sessions = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
  session: FoldSession;
  events: ReplayEvent[];
}[];
process.stdout.write(
  JSON.stringify(sessions.map((s) => foldAll(archiveGateV1, s.session, s.events).stateHash)),
);
