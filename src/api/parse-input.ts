import type { z } from 'zod';
import { AgateError } from '../errors/index.js';

/** Validates a body, query or parameters at the edge; `invalid_request` names the first problem. */
export function parseInput<T extends z.ZodType>(
  schema: T,
  value: unknown,
  what: string,
): z.output<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = [what, ...(issue?.path.map(String) ?? [])].join('.');
  throw new AgateError('invalid_request', `${where}: ${issue?.message ?? 'is not valid'}.`);
}
