import { recordAudit } from '../db/index.js';
import type { AuditEntry, Pool } from '../db/index.js';

/** Who the CLI's audit entries name: the operator at the command line, not an API key. */
export const cliActor = 'cli';

/** The audit entry the API writes for the same operation, with actor `cli`. */
export function recordCliAudit(pool: Pool, entry: Omit<AuditEntry, 'actor'>): Promise<void> {
  return recordAudit(pool, { ...entry, actor: cliActor });
}
