import type { Command } from 'commander';
import { createTenant, listTenants } from '../tenants/index.js';
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
  tenants
    .command('list')
    .description('list every tenant, oldest first')
    .option('--json', 'print {tenants: [{id, name, createdAt}]} as JSON')
    .action(async (flags: { json?: boolean }) => {
      const opened = await openAgate(process.env, { inline: true });
      try {
        const all = await listTenants(opened.agate.pool);
        console.log(
          flags.json === true
            ? JSON.stringify({ tenants: all })
            : all.length === 0
              ? 'No tenants.'
              : all.map((t) => `${t.id}  ${t.createdAt.toISOString()}  ${t.name}`).join('\n'),
        );
      } finally {
        await opened.close();
      }
    });
}
