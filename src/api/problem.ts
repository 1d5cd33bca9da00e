import type { FastifyReply, FastifyRequest } from 'fastify';
import { isAgateError } from '../errors/index.js';
import type { ErrorCode } from '../errors/index.js';

export type ProblemCode = ErrorCode;

/** An RFC 9457 problem document, with agate's stable `code`. */
export type Problem = {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ProblemCode;
  [extension: string]: unknown;
};

/** The one place an error becomes an HTTP status. */
const statusOf: Record<ProblemCode, number> = {
  invalid_request: 400,
  unauthorized: 401,
  tenant_required: 401,
  tenant_not_found: 401,
  forbidden: 403,
  not_found: 404,
  uri_too_long: 414,
  session_not_found: 404,
  session_ended: 409,
  sequence_conflict: 409,
  event_id_conflict: 409,
  payload_too_large: 413,
  batch_too_large: 413,
  unknown_event_type: 422,
  unknown_rules: 422,
  invalid_event: 422,
  seed_not_allowed: 422,
  integrity_violation: 409,
  rate_limited: 429,
  append_only: 500,
  maintenance_failed: 500,
  extension_missing: 500,
  internal: 500,
  session_busy: 503,
  timeout: 503,
  unavailable: 503,
  placement_unavailable: 503,
  tenant_moving: 503,
  schema_out_of_date: 503,
  consumer_not_found: 404,
  consumer_conflict: 409,
  lease_lost: 409,
  feed_gap: 409,
  rules_rejected: 409,
  invalid_config: 500,
  invalid_game_module: 500,
  rules_changed: 500,
};

const titles: Partial<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** Codes whose request is worth sending again after this many seconds (Retry-After). */
const retryAfterOf: Partial<Record<ProblemCode, number>> = {
  // A move's switch holds writes for moments; a moved tenant's retry goes to its new placement.
  tenant_moving: 1,
};

/** Fastify's own refusals of a request (parsing, limits): status and what to tell the caller. */
const fastifyRefusals: Partial<Record<string, [number, ProblemCode, string]>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: [
    413,
    'payload_too_large',
    'The request body is over the size limit; send less.',
  ],
  FST_ERR_MAX_PARAM_LENGTH: [
    414,
    'uri_too_long',
    'A path parameter is over 100 characters; ids are UUIDs (36 characters).',
  ],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [415, 'invalid_request', 'Send the body as application/json.'],
  FST_ERR_CTP_EMPTY_JSON_BODY: [
    400,
    'invalid_request',
    'The body is empty; send a JSON object, or no Content-Type.',
  ],
  FST_ERR_CTP_INVALID_JSON_BODY: [400, 'invalid_request', 'The body is not valid JSON.'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [
    400,
    'invalid_request',
    'Content-Length does not match the body.',
  ],
};

function problem(status: number, code: ProblemCode, detail: string, extra = {}): Problem {
  return {
    type: `urn:agate:error:${code}`,
    title: titles[status] ?? 'Bad Request',
    status,
    detail,
    code,
    ...extra,
  };
}

/** Details that help the caller fix the request (index, limits, currentSequence), never internals. */
function publicDetails(details: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const reserved = new Set(['type', 'title', 'status', 'detail', 'code']);
  return Object.fromEntries(Object.entries(details).filter(([key]) => !reserved.has(key)));
}

/** What is said instead of messages that may name internals (hosts, SQL, file paths). */
function opaqueDetail(code: ProblemCode, requestId: string): string | undefined {
  switch (code) {
    case 'unavailable':
    case 'schema_out_of_date':
      return `The service cannot use its database right now (request ${requestId}); retry with backoff.`;
    // A replay's finding (which sequence breaks the chain) is what the analyst asked for.
    case 'integrity_violation':
      return undefined;
    default:
      return statusOf[code] >= 500 && statusOf[code] !== 503
        ? `The server failed (request ${requestId}); report it with that id.`
        : undefined;
  }
}

/** Maps any error to a problem document; anything unexpected is a 500 that reveals nothing. */
export function toProblem(error: unknown, requestId: string): Problem {
  if (isAgateError(error)) {
    const opaque = opaqueDetail(error.code, requestId);
    if (opaque !== undefined) return problem(statusOf[error.code], error.code, opaque);
    const retryAfter = retryAfterOf[error.code];
    return problem(statusOf[error.code], error.code, error.message, {
      ...publicDetails(error.details),
      ...(retryAfter === undefined ? {} : { retryAfter }),
    });
  }
  const code = (error as { code?: unknown } | null)?.code;
  const refusal = typeof code === 'string' ? fastifyRefusals[code] : undefined;
  if (refusal !== undefined) return problem(...refusal);
  const statusCode = (error as { statusCode?: unknown } | null)?.statusCode;
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    return problem(statusCode, 'invalid_request', 'The request is malformed.');
  }
  return problem(500, 'internal', opaqueDetail('internal', requestId) ?? '');
}

/** Fastify's error handler: logs once, at the edge, and answers with problem+json. */
export function sendProblem(
  error: unknown,
  request: FastifyRequest,
  reply: FastifyReply,
): FastifyReply {
  const body = toProblem(error, request.id);
  if (body.status >= 500 && body.status !== 503) {
    request.log.error({ err: error, code: body.code }, 'request failed');
  } else if (body.status === 503) {
    request.log.warn({ err: error, code: body.code }, 'request not served');
  } else request.log.info({ code: body.code, status: body.status }, 'request refused');
  if (body.status === 401) void reply.header('www-authenticate', 'Bearer');
  if (typeof body.retryAfter === 'number') {
    void reply.header('retry-after', String(body.retryAfter));
  }
  return reply.code(body.status).type('application/problem+json').send(body);
}
