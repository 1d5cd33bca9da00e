export { connectClient, createClient, createPool } from './pool.js';
export type { Pool, PoolClient, PoolOptions, Queryable } from './pool.js';
export { fromPgError, isConnectionFailure, violatedConstraint } from './pg-errors.js';
export { isUuid, requireTenantId, withMaintenance, withTenant } from './tenant-context.js';
export type { TenantContext, TenantRole } from './tenant-context.js';
export { defaultMigrationsDir, loadMigrations, migrate, schemaStatus } from './migrate.js';
export type { MigrationReport, SchemaStatus } from './migrate.js';
export {
  apiKeys,
  auditLog,
  events,
  operatorKeys,
  players,
  sessions,
  snapshots,
  tenants,
} from './schema.js';
export { openEmbeddedPool } from './embedded-pool.js';
export type { EmbeddedPool, EmbeddedPoolOptions } from './embedded-pool.js';
export { embeddedClientFor } from './embedded-registry.js';
export { recordAudit } from './record-audit.js';
export type { AuditEntry } from './record-audit.js';
