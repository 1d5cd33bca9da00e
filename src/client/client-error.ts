import { errorCodes } from '../errors/index.js';
import type { ErrorCode } from '../errors/index.js';
import type { Verdict } from './client-types.js';

/** The codes the agate API answers with (its `problem+json` `code`): the server's own list. */
export const problemCodes = errorCodes;

export type ProblemCode = ErrorCode;

/**
 * Failures found by the client itself: `network_error` (no answer, after every retry) and
 * `unexpected_response` (an answer that is not the API's JSON, e.g. a proxy's HTML page).
 */
export type ClientFailureCode = 'network_error' | 'unexpected_response';

/** A known code, or a newer server's code this client does not list yet. */
export type AgateErrorCode = ProblemCode | ClientFailureCode | (string & Record<never, never>);

const reserved = new Set(['type', 'title', 'status', 'detail', 'code']);

/**
 * What the API refused, or why no answer came. `code` is what to match on; `extra` holds the
 * problem document's other fields (`currentSequence`, `index`, ...). `status` is 0 when the
 * request got no HTTP answer.
 */
export class AgateClientError extends Error {
  override readonly name = 'AgateClientError';
  readonly code: AgateErrorCode;
  readonly status: number;
  readonly detail: string;
  readonly extra: Readonly<Record<string, unknown>>;

  constructor(
    code: AgateErrorCode,
    status: number,
    detail: string,
    extra: Readonly<Record<string, unknown>> = {},
    options?: { cause?: unknown },
  ) {
    super(`${code} (${status}): ${detail}`, options);
    this.code = code;
    this.status = status;
    this.detail = detail;
    this.extra = extra;
  }

  /** The session's last sequence, on `sequence_conflict` and `session_ended`. */
  get currentSequence(): number | undefined {
    const value = this.extra.currentSequence;
    return typeof value === 'number' ? value : undefined;
  }

  /** Each event's verdict, on `rules_rejected` (an append with `verdicts: 'refuse'`). */
  get verdicts(): Verdict[] | undefined {
    const value = this.extra.verdicts;
    return Array.isArray(value) ? (value as Verdict[]) : undefined;
  }
}

export function isAgateClientError(
  value: unknown,
  code?: AgateErrorCode,
): value is AgateClientError {
  return value instanceof AgateClientError && (code === undefined || value.code === code);
}

/** The error for a non-2xx answer: from its problem document, or `unexpected_response`. */
export function errorFromProblem(status: number, body: unknown): AgateClientError {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return new AgateClientError(
      'unexpected_response',
      status,
      `The server answered ${status} without a problem document; check baseUrl and any proxy in between.`,
    );
  }
  const document = body as Record<string, unknown>;
  const code = typeof document.code === 'string' ? document.code : 'unexpected_response';
  const detail =
    typeof document.detail === 'string' ? document.detail : `The server answered ${status}.`;
  const extra = Object.fromEntries(Object.entries(document).filter(([key]) => !reserved.has(key)));
  return new AgateClientError(code, status, detail, extra);
}
