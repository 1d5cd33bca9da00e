function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The JSON paths (`$.credits`, `$.requests[2].status`) where two JSON values differ, at most
 * `limit` of them, in a stable order (object keys sorted).
 */
export function diffPaths(a: unknown, b: unknown, limit = 50): string[] {
  const out: string[] = [];
  walk(a, b, '$', out, limit);
  return out;
}

function walk(a: unknown, b: unknown, path: string, out: string[], limit: number): void {
  if (out.length >= limit) return;
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.max(a.length, b.length); i += 1) {
      walk(a[i], b[i], `${path}[${i}]`, out, limit);
    }
    return;
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    for (const key of keys) {
      const child = /^[A-Za-z_$][\w$]*$/.test(key)
        ? `${path}.${key}`
        : `${path}[${JSON.stringify(key)}]`;
      walk(a[key], b[key], child, out, limit);
    }
    return;
  }
  if (!Object.is(a, b)) out.push(path);
}
