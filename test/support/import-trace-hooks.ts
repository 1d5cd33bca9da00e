// Module hooks for import-trace-child.ts: every URL the loader resolves is appended to a file, so
// the child can read the complete list once its import has settled (no message to wait for).
import { appendFileSync } from 'node:fs';

type Resolved = { url: string };
type NextResolve = (specifier: string, context: unknown) => Promise<Resolved>;

let traceFile = '';

export function initialize(data: { traceFile: string }): void {
  traceFile = data.traceFile;
}

export async function resolve(
  specifier: string,
  context: unknown,
  nextResolve: NextResolve,
): Promise<Resolved> {
  const result = await nextResolve(specifier, context);
  appendFileSync(traceFile, `${result.url}\n`);
  return result;
}
