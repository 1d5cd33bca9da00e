export { createTenant } from './create-tenant.js';
export type { CreatedTenant, CreateTenantInput, Tenant } from './create-tenant.js';
export { listTenants } from './list-tenants.js';
