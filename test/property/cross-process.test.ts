import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { expect, test } from 'vitest';
import { foldAll } from '../../replay/index.js';
import { archiveGateV1 } from '../../src/game/index.js';
import { gateSessionArb, toEvents } from '../support/gate-actions.js';

const child = fileURLToPath(new URL('../support/replay-child.ts', import.meta.url));

function hashesInChild(input: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', child], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let out = '';
    proc.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    proc.on('error', reject);
    proc.on('close', (code) =>
      code === 0 ? resolve(JSON.parse(out) as string[]) : reject(new Error(`child exited ${code}`)),
    );
    proc.stdin.end(input);
  });
}

test('the same sessions replayed in a separate Node process give the same hashes', async () => {
  const sessions = fc
    .sample(gateSessionArb, { numRuns: 60, seed: 7 })
    .map((g) => ({ session: g.session, events: toEvents(g).events }));
  const here = sessions.map((s) => foldAll(archiveGateV1, s.session, s.events).stateHash);
  const there = await hashesInChild(JSON.stringify(sessions));
  expect(there).toEqual(here);
  expect(new Set(here).size).toBeGreaterThan(50);
});
