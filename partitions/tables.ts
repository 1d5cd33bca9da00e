/** A table partitioned by month on a timestamptz column. */
export type PartitionedTable = {
  schema: string;
  table: string;
  /** The partition key. */
  column: string;
  /**
   * Where retention keeps this table's detached months, each attached to a parent of the table's
   * name there. Months are named after the table (`events_p2026_11`), so two tables of one name
   * keep their archives in different schemas.
   */
  archiveSchema: string;
};

/** Every time-partitioned table agate keeps: both get the same window and the same guards. */
export const partitionedTables: readonly PartitionedTable[] = [
  { schema: 'game', table: 'events', column: 'server_time', archiveSchema: 'archive' },
  { schema: 'admin', table: 'audit_log', column: 'occurred_at', archiveSchema: 'archive' },
  {
    schema: 'analytics',
    table: 'events',
    column: 'server_time',
    archiveSchema: 'analytics_archive',
  },
];

export function qualified(t: PartitionedTable): string {
  return `${t.schema}.${t.table}`;
}

/**
 * Where detached partitions of the store's tables are kept (pg_partman's retention_schema too),
 * each attached to a parent of its table's name there (`archive.events`), which the store reads
 * with the live one.
 */
export const archiveSchema = 'archive';
