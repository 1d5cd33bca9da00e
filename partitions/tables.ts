/** A table partitioned by month on a timestamptz column. */
export type PartitionedTable = {
  schema: string;
  table: string;
  /** The partition key. */
  column: string;
};

/** Every time-partitioned table agate keeps: both get the same window and the same guards. */
export const partitionedTables: readonly PartitionedTable[] = [
  { schema: 'game', table: 'events', column: 'server_time' },
  { schema: 'admin', table: 'audit_log', column: 'occurred_at' },
];

export function qualified(t: PartitionedTable): string {
  return `${t.schema}.${t.table}`;
}

/**
 * Where detached partitions are kept (pg_partman's retention_schema too), each attached to a
 * parent of its table's name there (`archive.events`), which the store reads with the live one.
 */
export const archiveSchema = 'archive';
