import { z } from 'zod';
import type { AnyRouteSpec } from './define-route.js';
import { eventEnvelopeSchema } from '../events/index.js';
import type { GameCatalog } from '../game/index.js';
import { gameEventComponents } from './game-schemas.js';
import { documentedAs, documentedBy, problemSchema } from './schemas.js';

type JsonSchema = Record<string, unknown>;

/** Collects the named schemas (`.meta({ id })`) under components, referenced by `$ref`. */
function schemaWriter(): {
  write(schema: z.ZodType, io: 'input' | 'output'): JsonSchema;
  components: Record<string, JsonSchema>;
} {
  const components: Record<string, JsonSchema> = {};
  const writer = {
    components,
    write(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
      const generated = z.toJSONSchema(schema, {
        target: 'draft-2020-12',
        io,
        override: ({ zodSchema, jsonSchema }) => {
          const shown = documentedBy.get(zodSchema as unknown as z.ZodType);
          const replacement =
            shown === undefined
              ? documentedAs.get(zodSchema as unknown as z.ZodType)
              : writer.write(shown, io);
          if (replacement === undefined) return;
          for (const key of Object.keys(jsonSchema)) delete jsonSchema[key];
          Object.assign(jsonSchema, replacement);
        },
      });
      // zod writes named schemas under $defs; the document keeps them under components.
      const written = JSON.parse(
        JSON.stringify(generated).replaceAll('"#/$defs/', '"#/components/schemas/'),
      ) as JsonSchema & { $defs?: Record<string, JsonSchema> };
      const { $defs, ...rest } = written;
      delete rest.$schema;
      for (const [id, def] of Object.entries($defs ?? {})) components[id] = def;
      return rest;
    },
  };
  return writer;
}

function pathOf(url: string): string {
  return url.replace(/:([A-Za-z]+)/g, '{$1}');
}

function parametersOf(
  spec: AnyRouteSpec,
  write: (s: z.ZodType) => JsonSchema,
): Record<string, unknown>[] {
  const parameters: Record<string, unknown>[] = [];
  for (const [where, schema] of [
    ['path', spec.params],
    ['query', spec.query],
  ] as const) {
    if (schema === undefined) continue;
    const shape: Record<string, z.ZodType> = schema.shape;
    for (const [name, field] of Object.entries(shape)) {
      parameters.push({
        name,
        in: where,
        required: where === 'path' || !field.safeParse(undefined).success,
        schema: write(field),
      });
    }
  }
  return parameters;
}

function problemResponse(description: string): Record<string, unknown> {
  return {
    description,
    content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
  };
}

/** The URL (path and query) the server reads at most, in characters; longer ones get 414. */
export const maxUrlLength = 8_192;

const refusals: Record<string, Record<string, unknown>> = {
  '400': problemResponse(
    '`invalid_request`: the body or a parameter does not match this document, or the query has a parameter this operation does not list (named in `detail`: unknown query parameters are refused, never ignored).',
  ),
  '414': problemResponse(
    `\`uri_too_long\`: the URL is over ${maxUrlLength} characters, a path parameter over 100, or the request line and headers over Node's 16 KiB.`,
  ),
  '4XX': problemResponse(
    'A problem (RFC 9457): see `code` for what went wrong and docs/errors.md.',
  ),
  '5XX': problemResponse(
    'A problem (RFC 9457): see `code` for what went wrong and docs/errors.md.',
  ),
};

/** The OpenAPI 3.1 document for the declared routes: paths, parameters, bodies and responses. */
export function openApiDocument(
  routes: readonly AnyRouteSpec[],
  info: { version: string },
  games?: GameCatalog,
): Record<string, unknown> {
  const writer = schemaWriter();
  const paths: Record<string, Record<string, unknown>> = {};
  for (const spec of routes) {
    const responses: Record<string, unknown> = {};
    for (const [status, response] of Object.entries(spec.responses)) {
      responses[status] =
        response.body === undefined
          ? { description: response.description }
          : {
              description: response.description,
              content: {
                [response.contentType ?? 'application/json']: {
                  schema: writer.write(response.body, 'output'),
                },
                ...Object.fromEntries(
                  (response.alternatives ?? []).map((a) => [
                    a.contentType,
                    { schema: writer.write(a.body, 'output') },
                  ]),
                ),
              },
            };
    }
    Object.assign(responses, refusals);
    const operation: Record<string, unknown> = {
      operationId: spec.operationId,
      summary: spec.summary,
      tags: [spec.tag],
      parameters: parametersOf(spec, (s) => writer.write(s, 'input')),
      responses,
      security: spec.access === 'public' ? [] : [{ apiKey: [] }],
      'x-agate-roles': spec.access === 'public' ? [] : [...spec.access],
    };
    if (spec.body !== undefined) {
      operation.requestBody = {
        required: spec.bodyOptional !== true,
        content: { 'application/json': { schema: writer.write(spec.body, 'input') } },
      };
    }
    const path = pathOf(spec.url);
    paths[path] = { ...paths[path], [spec.method.toLowerCase()]: operation };
  }
  // Referenced by name from bodies the store checks itself (each event of an append).
  writer.write(problemSchema, 'output');
  writer.write(eventEnvelopeSchema, 'input');
  // The typed events of each game the server runs, which the append body references.
  const gameEvents =
    games === undefined ? {} : gameEventComponents(games, (s) => writer.write(s, 'input'));
  return {
    openapi: '3.1.0',
    info: {
      title: 'agate',
      version: info.version,
      description:
        'Event store and deterministic replay for game sessions. Authenticate with `Authorization: Bearer <API key>`; the tenant comes from the key. Operations list the key roles they admit in `x-agate-roles`; `operator` is an operator key (`ago_…`), which belongs to no tenant. Input is stored exactly as sent or refused: a query parameter an operation does not list is a 400, a JSON number a 64-bit double cannot hold exactly (an integer beyond 2^53, more than 15 to 17 significant digits, 1e400) is a 400, a client time that is not an exact RFC 3339 instant is a 422.',
      license: { name: 'MIT', identifier: 'MIT' },
    },
    servers: [{ url: '/' }],
    paths,
    components: {
      schemas: { ...writer.components, ...gameEvents },
      securitySchemes: {
        apiKey: { type: 'http', scheme: 'bearer', bearerFormat: 'agk_… or ago_…' },
      },
    },
  };
}
