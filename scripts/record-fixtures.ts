/**
 * Records the golden fixtures of archive-gate v1 (fixtures/archive-gate-v1/<name>.json): plays
 * each spec with the bot, folds it, and writes the events with their checkpoint hashes. A fixture
 * already recorded for the same rules version is never rewritten: if the rules no longer fold it
 * to its recorded hashes, nothing is written and the script exits 1.
 *
 *   npx tsx scripts/record-fixtures.ts    (npm run fixtures:record)
 */
import { access, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  computeCheckpoints,
  decideRecording,
  fixtureSchema,
  formatFixture,
  loadFixture,
} from '../src/fixtures/index.js';
import type { Fixture, RecordingDecision } from '../src/fixtures/index.js';
import { archiveGateV1, playSession } from '../src/game/index.js';
import type { GateEventInput, PlayOptions } from '../src/game/index.js';

type FixtureSpec = {
  name: string;
  /** What the session is for; the recorder adds how it was played. */
  about: string;
  /** The session seed (default: the name). */
  seed?: string;
  /** The bot's seed (default: `bot:` and the name). */
  botSeed?: string;
  /** Events in the fixture, the closing session.ended included. */
  length: number;
  config?: Record<string, unknown>;
  play?: PlayOptions;
  /** Close with session.ended as the last event. */
  ends?: boolean;
};

const specs: readonly FixtureSpec[] = [
  {
    name: 'first-steps-10',
    about: 'A session that ends after 10 events.',
    length: 10,
    ends: true,
  },
  {
    name: 'before-first-checkpoint-49',
    about: 'One event short of the first 50-event boundary.',
    length: 49,
    play: { rejectedEveryN: 9 },
  },
  {
    name: 'exactly-one-checkpoint-50',
    about: 'Ends exactly on the first 50-event boundary.',
    length: 50,
    ends: true,
  },
  {
    name: 'just-past-checkpoint-51',
    about: 'One event past the first 50-event boundary.',
    length: 51,
    play: { oldVersionEveryN: 2 },
  },
  {
    name: 'default-game-200',
    about: 'A default game, default bot.',
    length: 200,
  },
  {
    name: 'old-decisions-200',
    about: 'Half of the approve/deny decisions as request.decided v1, upcast on replay.',
    length: 200,
    play: { oldVersionEveryN: 2 },
  },
  {
    name: 'only-old-decisions-150',
    about: 'Every approve/deny decision as request.decided v1.',
    length: 150,
    play: { oldVersionEveryN: 1 },
  },
  {
    name: 'refused-every-7th-300',
    about: 'Every 7th event is one the rules refuse.',
    length: 300,
    play: { rejectedEveryN: 7 },
  },
  {
    name: 'refused-and-old-400',
    about: 'Refused actions and old decision versions mixed; ended.',
    length: 400,
    play: { rejectedEveryN: 11, oldVersionEveryN: 3 },
    ends: true,
  },
  {
    name: 'busy-days-250',
    about: '10 to 12 requests a day.',
    length: 250,
    config: { requestsPerDay: { min: 10, max: 12 } },
  },
  {
    name: 'quiet-days-150',
    about: 'Exactly 2 requests a day.',
    length: 150,
    config: { requestsPerDay: { min: 2, max: 2 } },
  },
  {
    name: 'no-attackers-300',
    about: 'No malicious requests at all.',
    length: 300,
    config: { maliciousRateBp: 0 },
  },
  {
    name: 'all-attackers-300',
    about: 'Every request is malicious.',
    length: 300,
    config: { maliciousRateBp: 10_000 },
    play: { rejectedEveryN: 25 },
  },
  {
    name: 'broke-start-200',
    about: 'Starts with no credits: investigations and purchases wait for income.',
    length: 200,
    config: { startingCredits: 0 },
    play: { rejectedEveryN: 15 },
  },
  {
    name: 'rich-start-300',
    about: 'Starts rich enough to buy every defense to its top level.',
    length: 300,
    config: { startingCredits: 1_000_000 },
    ends: true,
  },
  {
    name: 'free-investigations-250',
    about: 'Investigating costs nothing.',
    length: 250,
    config: { investigateCost: 0 },
  },
  {
    name: 'costly-investigations-250',
    about: 'Investigating costs 600 credits: the bot can rarely afford it.',
    length: 250,
    config: { investigateCost: 600, startingCredits: 700 },
    play: { oldVersionEveryN: 4 },
  },
  {
    name: 'novice-bot-300',
    about: 'A bot that knows the right decision 20% of the time: mistakes, breaches, trust lost.',
    length: 300,
    play: { skill: 2000 },
  },
  {
    name: 'expert-bot-300',
    about: 'A bot that always knows the right decision.',
    length: 300,
    play: { skill: 10_000 },
    ends: true,
  },
  {
    name: 'same-seed-other-bot-a-120',
    about: 'Same session seed as -b, another bot seed: the same days, other decisions.',
    seed: 'shared-seed',
    botSeed: 'bot:a',
    length: 120,
  },
  {
    name: 'same-seed-other-bot-b-120',
    about: 'Same session seed as -a, another bot seed: the same days, other decisions.',
    seed: 'shared-seed',
    botSeed: 'bot:b',
    length: 120,
  },
  {
    name: 'coin-flip-bot-500',
    about: 'A bot right half of the time, with refused actions; ended.',
    length: 500,
    config: { requestsPerDay: { min: 4, max: 8 }, maliciousRateBp: 4500 },
    play: { skill: 5000, rejectedEveryN: 13 },
    ends: true,
  },
  {
    name: 'long-game-1000',
    about: 'A long game with old decisions and refused actions.',
    length: 1000,
    play: { rejectedEveryN: 17, oldVersionEveryN: 4 },
  },
  {
    name: 'hostile-long-game-1000',
    about: 'A long hostile game: many attackers, a weaker bot, dear investigations.',
    length: 1000,
    config: {
      maliciousRateBp: 6000,
      requestsPerDay: { min: 3, max: 9 },
      investigateCost: 120,
      startingCredits: 400,
    },
    play: { skill: 7000 },
  },
  {
    name: 'marathon-5000',
    about:
      'A 5,000-event session: a hundred 50-event boundaries, old decisions and refused actions; ended.',
    length: 5000,
    play: { rejectedEveryN: 23, oldVersionEveryN: 5 },
    ends: true,
  },
];

const FIXTURE_DIR = fileURLToPath(new URL('../fixtures/archive-gate-v1/', import.meta.url));
const SESSION_ENDED: GateEventInput = { type: 'session.ended', version: 1, data: {} };

function howPlayed(spec: FixtureSpec, botSeed: string): string {
  const { skill, rejectedEveryN, oldVersionEveryN } = spec.play ?? {};
  const parts = [`bot seed "${botSeed}"`];
  if (skill !== undefined) parts.push(`skill ${skill} bp`);
  if (rejectedEveryN !== undefined) parts.push(`a refused action every ${rejectedEveryN}th event`);
  if (oldVersionEveryN !== undefined) {
    parts.push(`every ${oldVersionEveryN}th approve/deny as request.decided v1`);
  }
  if (spec.ends === true) parts.push('closed with session.ended');
  return `${spec.about} Played by playSession with ${parts.join(', ')}.`;
}

/** Plays a spec with the bot and folds it: the fixture as it would be recorded now. */
function recordSpec(spec: FixtureSpec): Fixture {
  const config = spec.config ?? {};
  const seed = spec.seed ?? spec.name;
  const botSeed = spec.botSeed ?? `bot:${spec.name}`;
  const played = spec.ends === true ? spec.length - 1 : spec.length;
  const events = playSession(seed, config, played, botSeed, spec.play);
  if (spec.ends === true) events.push(SESSION_ENDED);
  return fixtureSchema.parse({
    format: 1,
    name: spec.name,
    description: howPlayed(spec, botSeed),
    rules: archiveGateV1.name,
    rulesVersion: archiveGateV1.version,
    seed,
    config,
    events,
    checkpoints: computeCheckpoints(archiveGateV1, { seed, config, events }),
  });
}

async function readRecorded(path: string): Promise<Fixture | undefined> {
  try {
    await access(path);
  } catch {
    return undefined;
  }
  return loadFixture(path);
}

function explainRefusals(refused: Extract<RecordingDecision, { action: 'refuse' }>[]): string {
  const lines = refused.flatMap(({ name, differences }) => [
    `  ${name}: ${differences.length} checkpoint(s) differ`,
    ...differences.map(
      (d) =>
        `    sequence ${d.sequence}: recorded ${d.recorded ?? '(none)'}, now ${d.recomputed ?? '(none)'}`,
    ),
  ]);
  return [
    `archive-gate v${archiveGateV1.version} no longer folds recorded fixtures to their recorded hashes:`,
    ...lines,
    'Recorded fixtures are golden: a change in the rules that changes the state of a recorded session',
    'is a breaking change. Keep v1 as it was and put the new behaviour in a new rules version',
    '(its own fixtures directory), or find the unintended change. Nothing was written.',
  ].join('\n');
}

async function main(): Promise<number> {
  const names = new Set(specs.map((s) => s.name));
  if (names.size !== specs.length) throw new Error('Two fixture specs share a name; rename one.');
  const decisions: RecordingDecision[] = [];
  for (const spec of specs) {
    const path = join(FIXTURE_DIR, `${spec.name}.json`);
    decisions.push(decideRecording(archiveGateV1, recordSpec(spec), await readRecorded(path)));
  }
  const refused = decisions.filter((d) => d.action === 'refuse');
  if (refused.length > 0) {
    console.error(explainRefusals(refused));
    return 1;
  }
  await mkdir(FIXTURE_DIR, { recursive: true });
  for (const d of decisions) {
    if (d.action === 'write') {
      await writeFile(join(FIXTURE_DIR, `${d.name}.json`), formatFixture(d.fixture));
      console.log(`wrote  ${d.name} (${d.fixture.events.length} events)`);
    } else if (d.action === 'keep') {
      const note = d.matchesCandidate
        ? ''
        : ' (its spec now plays differently; the recorded file stays: rename the spec to record a new fixture)';
      console.log(`kept   ${d.name}${note}`);
    }
  }
  return 0;
}

process.exitCode = await main();
