// Records the golden fixtures under fixtures/ (npm run fixtures:record after npm run build).
// Rerun only for a new rules version: a changed hash under the same version is what
// `agate rules check` and the tests catch.
import { mkdir, writeFile } from 'node:fs/promises';
import { recordFixture } from 'agate/testing';
import { harvestRules } from '../src/index.js';
import { playBot } from './play-bot.js';

const sessions = [
  {
    name: 'three-fields-120',
    description: 'Three fields, the default config; a refused action every 9th event.',
    config: {},
    events: 120,
    refuseEvery: 9,
  },
  {
    name: 'poor-farm-60',
    description: 'Two fields and 3 coins: many refusals for want of coins.',
    config: { fields: 2, startingCoins: 3 },
    events: 60,
    refuseEvery: 5,
  },
];

const dir = new URL('../../fixtures/', import.meta.url);
await mkdir(dir, { recursive: true });
for (const session of sessions) {
  const { name, description, config } = session;
  const events = playBot({
    seed: name,
    config,
    events: session.events,
    refuseEvery: session.refuseEvery,
  });
  const text = recordFixture(harvestRules, { name, seed: name, config, description, events });
  await writeFile(new URL(`${name}.json`, dir), text);
  console.log(`fixtures/${name}.json: ${events.length} events`);
}
