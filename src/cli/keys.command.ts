import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';
import { AgateError } from '../errors/index.js';
import { apiKeyRoles, createKey, revokeKey } from '../keys/index.js';
import type { ApiKeyRole } from '../keys/index.js';
import { tenantArgument } from './cli-arguments.js';
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

export function addKeysCommands(program: Command): void {
  const keys = program.command('keys').description('API keys (DATABASE_URL)');
  keys
    .command('create')
    .description('create an API key for a tenant; the key is printed once and never stored')
    .requiredOption('--tenant <id>', 'the tenant the key acts for (a UUID)', tenantArgument)
    .requiredOption('--role <role>', `one of ${apiKeyRoles.join(', ')}`, role)
    .option('--label <text>', 'what the key is for', label)
    .option('--json', 'print {id, key} as JSON')
    .action(async (flags: { tenant: string; role: ApiKeyRole; label?: string; json?: boolean }) => {
      const opened = await openAgate(process.env, { inline: true });
      try {
        const created = await createKey(opened.agate.pool, {
          tenantId: flags.tenant,
          role: flags.role,
          label: flags.label,
          actor: 'cli',
        });
        console.log(
          flags.json === true
            ? JSON.stringify({ id: created.id, key: created.key })
            : `Created ${created.role} key ${created.id}. The key, shown only now:\n${created.key}`,
        );
      } finally {
        await opened.close();
      }
    });
  keys
    .command('revoke')
    .description('revoke an API key; requests with it are refused from then on')
    .argument('<id>', 'the key id (not the key)')
    .option('--json', 'print {id, revokedAt} as JSON')
    .action(async (id: string, flags: { json?: boolean }) => {
      const opened = await openAgate(process.env, { inline: true });
      try {
        const revoked = await revokeKey(opened.agate.pool, { id, actor: 'cli' });
        if (revoked === undefined) {
          throw new AgateError('invalid_request', `No API key has the id ${id}; check the id.`);
        }
        console.log(
          flags.json === true
            ? JSON.stringify({ id: revoked.id, revokedAt: revoked.revokedAt })
            : `${revoked.alreadyRevoked ? 'Already revoked' : 'Revoked'} key ${revoked.id}`,
        );
      } finally {
        await opened.close();
      }
    });
}
