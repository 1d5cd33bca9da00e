import type { Socket } from 'node:net';
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { toProblem } from './problem.js';
import type { Problem } from './problem.js';
import { AgateError } from '../errors/index.js';
import { maxUrlLength } from './openapi.js';

// Requests Node refuses before Fastify sees them still get problem+json. Node counts the request
// line in its 16 KiB header limit, and an over-long URL is by far the usual cause, so an overflow
// is `uri_too_long` (414); a URL over `maxUrlLength` that fits is refused by `refuseLongUrl`.

function problemOf(error: NodeJS.ErrnoException): Problem {
  if (error.code === 'HPE_HEADER_OVERFLOW') {
    return toProblem(
      new AgateError(
        'uri_too_long',
        `The request line and headers are over 16 KiB; keep the URL under ${maxUrlLength} characters.`,
      ),
      'none',
    );
  }
  const timeout = error.code === 'ERR_HTTP_REQUEST_TIMEOUT';
  return {
    ...toProblem(new AgateError('invalid_request', 'The request is not valid HTTP.'), 'none'),
    ...(timeout
      ? { status: 408, title: 'Request Timeout', detail: 'The request took too long to arrive.' }
      : {}),
  };
}

/** Fastify's `clientErrorHandler`: answers what Node could not parse, then closes the socket. */
export function answerClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  if (socket.writable) {
    const problem = problemOf(error);
    const body = JSON.stringify(problem);
    socket.write(
      `HTTP/1.1 ${problem.status} ${problem.title}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/problem+json\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}

/** An `onRequest` hook: a URL over `maxUrlLength` characters is a 414, before authentication. */
export function refuseLongUrl(
  request: FastifyRequest,
  _reply: FastifyReply,
  done: HookHandlerDoneFunction,
): void {
  if (request.url.length <= maxUrlLength) return done();
  done(
    new AgateError(
      'uri_too_long',
      `The URL is ${request.url.length} characters, over the limit of ${maxUrlLength}; send shorter query parameters, or page with after and limit.`,
    ),
  );
}
