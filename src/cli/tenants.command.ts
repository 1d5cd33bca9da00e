import type { Command } from 'commander';
import { createTenant } from '../tenants/index.js';
import { openAgate } from './open-agate.js';

export function addTenantsCommands(program: Command): void {
  const tenants = program.command('tenants').description('tenants (DATABASE_URL)');
  tenants
    .command('create')
    .description('create a tenant (recorded in the audit log); prints its id')
    .argument('<name>', 'a name for people, 1 to 200 characters')
    .option('--json', 'print {id, name} as JSON')
    .action(async (name: string, flags: { json?: boolean }) => {
      const opened = await openAgate(process.env, { inline: true });
      try {
        const tenant = await createTenant(opened.agate.pool, { name, actor: 'cli' });
        console.log(
          flags.json === true
            ? JSON.stringify({ id: tenant.id, name: tenant.name })
            : `Created tenant ${tenant.name}: ${tenant.id}`,
        );
      } finally {
        await opened.close();
      }
    });
}
