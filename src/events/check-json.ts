/**
 * Finds the first reason `value` cannot be stored in jsonb and hashed to the same bytes after it is
 * read back: non-finite numbers, undefined, functions, class instances, `\u0000` (jsonb refuses it),
 * lone surrogates (not valid Unicode), and nesting deeper than `maxDepth`. Returns a message that
 * names the path, or undefined when the value is plain JSON.
 */
export function findJsonProblem(
  value: unknown,
  maxDepth: number,
  path = 'data',
): string | undefined {
  return visit(value, maxDepth, path, 0);
}

// eslint-disable-next-line no-control-regex
const badText = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function textProblem(text: string, path: string): string | undefined {
  if (!badText.test(text)) return undefined;
  return `${path} contains \\u0000 or an unpaired surrogate, which cannot be stored; remove it`;
}

function visit(value: unknown, maxDepth: number, path: string, depth: number): string | undefined {
  switch (typeof value) {
    case 'string':
      return textProblem(value, path);
    case 'boolean':
      return undefined;
    case 'number':
      return Number.isFinite(value)
        ? undefined
        : `${path} is ${String(value)}, which is not a JSON number`;
    case 'object':
      if (value === null) return undefined;
      if (depth >= maxDepth)
        return `${path} is nested deeper than ${maxDepth} levels; flatten the data`;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i += 1) {
          const problem = visit(value[i], maxDepth, `${path}[${i}]`, depth + 1);
          if (problem !== undefined) return problem;
        }
        return undefined;
      }
      return visitObject(value, maxDepth, path, depth);
    default:
      return `${path} is ${typeof value}, which is not JSON`;
  }
}

function visitObject(
  value: object,
  maxDepth: number,
  path: string,
  depth: number,
): string | undefined {
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    return `${path} is a ${value.constructor.name}, not a plain JSON object`;
  }
  for (const [key, child] of Object.entries(value)) {
    const childPath = `${path}.${key}`;
    const problem = textProblem(key, childPath) ?? visit(child, maxDepth, childPath, depth + 1);
    if (problem !== undefined) return problem;
  }
  return undefined;
}
