import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';
import type { Pool } from '../db/index.js';
import { parseFeedPosition } from '../events/index.js';
import { getConsumer, listConsumers, resetConsumer } from '../feed/index.js';
import type { ConsumerStart, ConsumerStatus } from '../feed/index.js';
import { listTenants } from '../tenants/index.js';
import { tenantArgument } from './cli-arguments.js';
import { openAgate } from './open-agate.js';

/** `--to`: beginning, now, or a feed position as the feed delivers it. */
function startArgument(value: string): ConsumerStart {
  if (value === 'beginning' || value === 'now') return value;
  try {
    return { after: parseFeedPosition(value, '--to') };
  } catch {
    throw new InvalidArgumentError(
      `--to must be beginning, now or a feed position (transaction:session:sequence), got "${value}".`,
    );
  }
}

/** Runs `work` with a pool per tenant: the one of its placement's database (ADR 0032). */
async function withPools<T>(
  work: (poolOf: (tenantId: string) => Promise<Pool>, control: Pool) => Promise<T>,
): Promise<T> {
  const opened = await openAgate(process.env, { inline: true });
  try {
    return await work(
      async (tenantId) => (await opened.placements.agateFor(tenantId)).agate.pool,
      opened.agate.pool,
    );
  } finally {
    await opened.close();
  }
}

function consumerJson(tenantId: string, c: ConsumerStatus) {
  return {
    tenantId,
    name: c.name,
    types: c.types,
    slots: c.slots,
    createdAt: c.createdAt.toISOString(),
    updatedAt: c.updatedAt.toISOString(),
    slotStates: c.slotStates.map((s) => ({
      ...s,
      leaseExpiresAt: s.leaseExpiresAt?.toISOString() ?? null,
    })),
    members: c.members.map((m) => ({
      member: m.member,
      joinedAt: m.joinedAt.toISOString(),
      expiresAt: m.expiresAt.toISOString(),
    })),
  };
}

function describe(tenantId: string, c: ConsumerStatus): string {
  const checkpoints = [...new Set(c.slotStates.map((s) => s.checkpoint))];
  const owned = c.slotStates.filter((s) => s.owner !== null).length;
  const head = `${tenantId}  ${c.name}  types ${c.types === null ? 'all' : c.types.join(',')}  ${c.slots} slots (${owned} held)  ${c.members.length} member${c.members.length === 1 ? '' : 's'}`;
  const at =
    checkpoints.length === 1
      ? `  every slot at ${checkpoints[0] ?? ''}`
      : c.slotStates
          .map(
            (s) =>
              `  slot ${s.slot} at ${s.checkpoint}${s.owner === null ? '' : ` (${s.owner}, epoch ${s.epoch})`}`,
          )
          .join('\n');
  return `${head}\n${at}`;
}

async function list(flags: { tenant?: string; json?: boolean }): Promise<void> {
  const found = await withPools(async (poolOf, control) => {
    const tenants =
      flags.tenant === undefined ? (await listTenants(control)).map((t) => t.id) : [flags.tenant];
    const out: { tenantId: string; consumer: ConsumerStatus }[] = [];
    for (const tenantId of tenants) {
      for (const consumer of await listConsumers(await poolOf(tenantId), { tenantId })) {
        out.push({ tenantId, consumer });
      }
    }
    return out;
  });
  if (flags.json === true) {
    console.log(
      JSON.stringify({ consumers: found.map((f) => consumerJson(f.tenantId, f.consumer)) }),
    );
  } else {
    console.log(
      found.length === 0
        ? 'No consumers.'
        : found.map((f) => describe(f.tenantId, f.consumer)).join('\n'),
    );
  }
}

async function reset(
  name: string,
  flags: { tenant: string; to: ConsumerStart; json?: boolean },
): Promise<void> {
  const after = await withPools(async (poolOf) => {
    const pool = await poolOf(flags.tenant);
    // An operator may reset agate's own consumers too (to rebuild what they derive).
    const ref = { tenantId: flags.tenant, name, reserved: true };
    await resetConsumer(pool, { ...ref, to: flags.to });
    return getConsumer(pool, ref);
  });
  if (flags.json === true) console.log(JSON.stringify(consumerJson(flags.tenant, after)));
  else console.log(`Reset ${name}: ${describe(flags.tenant, after)}`);
}

export function addConsumersCommands(program: Command): void {
  const consumers = program
    .command('consumers')
    .description('durable consumers of the tenants’ feeds (DATABASE_URL)');
  consumers
    .command('list')
    .description('list consumers with their slots’ checkpoints, owners and members')
    .option('--tenant <id>', 'only this tenant’s (default: every tenant’s)', tenantArgument)
    .option('--json', 'print {consumers: [...]} as JSON')
    .action(list);
  consumers
    .command('reset')
    .description(
      'move every slot of a consumer to --to; its members are fenced and resume from there (agate’s own under agate. too)',
    )
    .argument('<name>', 'the consumer')
    .requiredOption('--tenant <id>', 'the consumer’s tenant (a UUID)', tenantArgument)
    .requiredOption('--to <where>', 'beginning, now or a feed position', startArgument)
    .option('--json', 'print the consumer after the reset as JSON')
    .action(reset);
}
