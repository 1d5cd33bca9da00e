/**
 * Every failure agate reports to a caller has one of these codes. They are a contract: the HTTP
 * API, the CLI and scripts match on them. docs/errors.md says what each means and what to do.
 */
export const errorCodes = [
  'session_not_found',
  'session_ended',
  'sequence_conflict',
  'event_id_conflict',
  'unknown_event_type',
  'unknown_rules',
  'invalid_event',
  'seed_not_allowed',
  'invalid_request',
  'payload_too_large',
  'batch_too_large',
  'tenant_required',
  'tenant_not_found',
  'append_only',
  'integrity_violation',
  'maintenance_failed',
  'extension_missing',
  'session_busy',
  'timeout',
  'unavailable',
  'placement_unavailable',
  'tenant_moving',
  'forbidden',
  'unauthorized',
  'rate_limited',
  'not_found',
  'uri_too_long',
  'schema_out_of_date',
  'consumer_not_found',
  'consumer_conflict',
  'lease_lost',
  'feed_gap',
  'rules_rejected',
  'invalid_config',
  'invalid_game_module',
  'rules_changed',
  'internal',
] as const;

export type ErrorCode = (typeof errorCodes)[number];

export class AgateError extends Error {
  override readonly name = 'AgateError';
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(
    code: ErrorCode,
    message: string,
    options: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details ?? {};
  }
}

export function isAgateError(value: unknown, code?: ErrorCode): value is AgateError {
  return value instanceof AgateError && (code === undefined || value.code === code);
}
