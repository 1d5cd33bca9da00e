import { InvalidArgumentError, Option } from 'commander';
import type { Command } from 'commander';
import { AgateError } from '../errors/index.js';
import {
  apiKeyRoles,
  createKey,
  createOperatorKey,
  listOperatorKeys,
  listTenantKeys,
  revokeKey,
  rotateKey,
  setKeyRateLimit,
} from '../keys/index.js';
import type { ApiKeyRole, ListedKey, ListedOperatorKey } from '../keys/index.js';
import type { Pool } from '../db/index.js';
import {
  describeRateLimit,
  rateBurstArgument,
  rateLimitArgument,
  rateLimitOfFlags,
  tenantArgument,
} from './cli-arguments.js';
import type { RateLimitFlags } from './cli-arguments.js';
import { cliActor } from './cli-audit.js';
import { openAgate } from './open-agate.js';

function role(value: string): ApiKeyRole {
  const found = apiKeyRoles.find((r) => r === value);
  if (found === undefined) {
    throw new InvalidArgumentError(`--role must be one of ${apiKeyRoles.join(', ')}.`);
  }
  return found;
}

function label(value: string): string {
  if (value.length === 0 || value.length > 200) {
    throw new InvalidArgumentError('--label must be 1 to 200 characters.');
  }
  return value;
}

/** Runs `work` on the database of the environment and closes it, whatever happens. */
async function withPool<T>(work: (pool: Pool) => Promise<T>): Promise<T> {
  const opened = await openAgate(process.env, { inline: true });
  try {
    return await work(opened.agate.pool);
  } finally {
    await opened.close();
  }
}

type CreateFlags = RateLimitFlags & {
  tenant?: string;
  operator?: boolean;
  role?: ApiKeyRole;
  label?: string;
  json?: boolean;
};

async function create(flags: CreateFlags, command: Command): Promise<void> {
  const { tenant, role: keyRole, label: keyLabel } = flags;
  const rateLimit = rateLimitOfFlags(flags, command);
  let work: (pool: Pool) => Promise<{ id: string; key: string; role: string }>;
  if (flags.operator === true) {
    work = (pool) => createOperatorKey(pool, { label: keyLabel, actor: cliActor });
  } else if (tenant !== undefined && keyRole !== undefined) {
    work = (pool) =>
      createKey(pool, {
        tenantId: tenant,
        role: keyRole,
        label: keyLabel,
        rateLimit,
        actor: cliActor,
      });
  } else {
    command.error(
      'error: give --tenant <id> and --role <role> for a tenant key, or --operator for an operator key',
      { exitCode: 2 },
    );
  }
  const created = await withPool(work);
  console.log(
    flags.json === true
      ? JSON.stringify({ id: created.id, key: created.key })
      : `Created ${created.role} key ${created.id}. The key, shown only now:\n${created.key}`,
  );
}

function describeKey(key: ListedKey | ListedOperatorKey): string {
  const used = 'lastUsedAt' in key ? `  last used ${key.lastUsedAt?.toISOString() ?? 'never'}` : '';
  const state = key.revokedAt === null ? 'live' : `revoked ${key.revokedAt.toISOString()}`;
  const limit = describeRateLimit(
    key.rateLimit,
    key.role === 'operator' ? 'of the server' : 'inherited',
  );
  return `${key.id}  ${key.role}  created ${key.createdAt.toISOString()}  ${state}  ${limit}${used}${key.label === null ? '' : `  ${key.label}`}`;
}

async function list(
  flags: { tenant?: string; operator?: boolean; json?: boolean },
  command: Command,
) {
  if ((flags.operator === true) === (flags.tenant !== undefined)) {
    command.error('error: give exactly one of --tenant <id> or --operator', { exitCode: 2 });
  }
  const { tenant } = flags;
  const keys: (ListedKey | ListedOperatorKey)[] = await withPool((pool) =>
    tenant === undefined ? listOperatorKeys(pool) : listTenantKeys(pool, tenant),
  );
  if (flags.json === true) console.log(JSON.stringify({ keys }));
  else console.log(keys.length === 0 ? 'No keys.' : keys.map(describeKey).join('\n'));
}

async function limit(id: string, flags: RateLimitFlags & { json?: boolean }, command: Command) {
  const rateLimit = rateLimitOfFlags(flags, command);
  if (rateLimit === undefined) {
    command.error('error: give --rate-limit <per second> (and --rate-burst <n>), or --inherit', {
      exitCode: 2,
    });
  }
  const changed = await withPool((pool) =>
    setKeyRateLimit(pool, { id, rateLimit, actor: cliActor }),
  );
  if (changed === undefined) {
    throw new AgateError('invalid_request', `No API key has the id ${id}; check the id.`);
  }
  console.log(
    flags.json === true
      ? JSON.stringify(changed)
      : `Key ${changed.id}: ${describeRateLimit(changed.rateLimit, 'inherited from its tenant, else the server')}`,
  );
}

export function addKeysCommands(program: Command): void {
  const keys = program.command('keys').description('API keys and operator keys (DATABASE_URL)');
  keys
    .command('create')
    .description(
      'create a tenant key (--tenant, --role) or an operator key (--operator: database owner only); the key is printed once and never stored',
    )
    .option('--tenant <id>', 'the tenant the key acts for (a UUID)', tenantArgument)
    .option('--role <role>', `one of ${apiKeyRoles.join(', ')}`, role)
    .addOption(
      new Option(
        '--operator',
        'an operator key: belongs to no tenant, may create tenants',
      ).conflicts(['tenant', 'role']),
    )
    .option('--label <text>', 'what the key is for', label)
    .addOption(
      new Option(
        '--rate-limit <per second>',
        'the key’s own rate limit (default: its tenant’s, else the server’s)',
      )
        .argParser(rateLimitArgument)
        .conflicts(['operator']),
    )
    .addOption(
      new Option('--rate-burst <n>', 'the key’s burst (default: two seconds of --rate-limit)')
        .argParser(rateBurstArgument)
        .conflicts(['operator']),
    )
    .option('--json', 'print {id, key} as JSON')
    .action(create);
  keys
    .command('list')
    .description(
      'list the keys of a tenant (--tenant) or the operator keys (--operator), never their secrets',
    )
    .option('--tenant <id>', 'the tenant whose keys to list (a UUID)', tenantArgument)
    .addOption(new Option('--operator', 'list the operator keys').conflicts(['tenant']))
    .option('--json', 'print {keys: [...]} as JSON')
    .action(list);
  keys
    .command('rotate')
    .description(
      'replace a live key with a new secret of the same tenant, role and label; the old one is revoked',
    )
    .argument('<id>', 'the key id (not the key)')
    .option('--json', 'print {id, key, replaces, revokedAt} as JSON')
    .action(async (id: string, flags: { json?: boolean }) => {
      const rotated = await withPool((pool) => rotateKey(pool, { id, actor: cliActor }));
      if (rotated === undefined) {
        throw new AgateError('invalid_request', `No key has the id ${id}; check the id.`);
      }
      const { key, replaces, revokedAt } = rotated;
      console.log(
        flags.json === true
          ? JSON.stringify({ id: rotated.id, key, replaces, revokedAt })
          : `Revoked key ${replaces}; its replacement ${rotated.id}, shown only now:\n${key}`,
      );
    });
  keys
    .command('limit')
    .description(
      'set a tenant key’s own rate limit, or --inherit its tenant’s (else the server’s); audited, and live servers apply it within AGATE_KEY_CACHE_MS (at once when they hear agate_keys)',
    )
    .argument('<id>', 'the key id (not the key)')
    .option('--rate-limit <per second>', 'requests per second', rateLimitArgument)
    .option('--rate-burst <n>', 'requests at once (default: two seconds’ worth)', rateBurstArgument)
    .option('--inherit', 'clear the key’s own limit')
    .option('--json', 'print {id, tenantId, rateLimit, previous} as JSON')
    .action(limit);
  keys
    .command('revoke')
    .description(
      'revoke a tenant key or an operator key; requests with it are refused from then on',
    )
    .argument('<id>', 'the key id (not the key)')
    .option('--json', 'print {id, revokedAt} as JSON')
    .action(async (id: string, flags: { json?: boolean }) => {
      const revoked = await withPool((pool) => revokeKey(pool, { id, actor: cliActor }));
      if (revoked === undefined) {
        throw new AgateError('invalid_request', `No API key has the id ${id}; check the id.`);
      }
      console.log(
        flags.json === true
          ? JSON.stringify({ id: revoked.id, revokedAt: revoked.revokedAt })
          : `${revoked.alreadyRevoked ? 'Already revoked' : 'Revoked'} key ${revoked.id}`,
      );
    });
}
