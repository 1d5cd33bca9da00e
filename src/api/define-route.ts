import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { RouteAccess } from './auth.js';
import { parseInput } from './parse-input.js';

export type HttpMethod = 'GET' | 'PUT' | 'POST' | 'DELETE';

type AnyObject = z.ZodObject;

/**
 * What a route answers with, by status; the schema is the body (none for 204). `alternatives`
 * are other media types the same status may carry (chosen by the request's Accept header).
 */
export type ResponseSpec = {
  description: string;
  body?: z.ZodType;
  contentType?: string;
  alternatives?: readonly { contentType: string; body: z.ZodType }[];
};

/**
 * One route, declared once: Fastify registers it from this, its inputs are parsed with these
 * schemas, and the OpenAPI document is written from the same objects, so they cannot drift.
 */
export type RouteSpec<
  P extends AnyObject | undefined = undefined,
  Q extends AnyObject | undefined = undefined,
  B extends z.ZodType | undefined = undefined,
> = {
  method: HttpMethod;
  /** Fastify's form: `/v1/sessions/:id`. */
  url: string;
  operationId: string;
  summary: string;
  tag: string;
  access: RouteAccess;
  params?: P;
  query?: Q;
  body?: B;
  /** A body that may be left out entirely (the route then sees `undefined`). */
  bodyOptional?: boolean;
  /** This route's largest body in bytes, when not the server's. */
  bodyLimit?: number;
  responses: Readonly<Record<number, ResponseSpec>>;
};

export type RouteInput<P, Q, B> = {
  params: P extends z.ZodType ? z.output<P> : undefined;
  query: Q extends z.ZodType ? z.output<Q> : undefined;
  body: B extends z.ZodType
    ? z.output<B> | (undefined extends z.input<B> ? undefined : never)
    : undefined;
};

export type AnyRouteSpec = RouteSpec<
  AnyObject | undefined,
  AnyObject | undefined,
  z.ZodType | undefined
>;

/** The routes an app declared, in order, for its OpenAPI document. */
const declared = new WeakMap<FastifyInstance, AnyRouteSpec[]>();

export function declaredRoutes(app: FastifyInstance): readonly AnyRouteSpec[] {
  return declared.get(app) ?? [];
}

function parseOptional<T extends z.ZodType>(
  schema: T | undefined,
  value: unknown,
  what: string,
): unknown {
  return schema === undefined ? undefined : parseInput(schema, value, what);
}

/** Registers `spec` on `app` with `handler`, which gets the parsed params, query and body. */
export function defineRoute<
  P extends AnyObject | undefined = undefined,
  Q extends AnyObject | undefined = undefined,
  B extends z.ZodType | undefined = undefined,
>(
  app: FastifyInstance,
  spec: RouteSpec<P, Q, B>,
  handler: (input: RouteInput<P, Q, B>, request: FastifyRequest, reply: FastifyReply) => unknown,
): void {
  const routes = declared.get(app) ?? [];
  declared.set(app, routes);
  routes.push(spec);
  const body =
    spec.body !== undefined && spec.bodyOptional === true ? spec.body.optional() : spec.body;
  app.route({
    method: spec.method,
    url: spec.url,
    config: { access: spec.access },
    ...(spec.bodyLimit === undefined ? {} : { bodyLimit: spec.bodyLimit }),
    handler: async (request, reply) => {
      const input = {
        params: parseOptional(spec.params, request.params, 'params'),
        query: parseOptional(spec.query ?? z.strictObject({}), request.query, 'query'),
        body: parseOptional(body, request.body, 'body'),
      } as RouteInput<P, Q, B>;
      return handler(input, request, reply);
    },
  });
}
