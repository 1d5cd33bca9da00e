// Imports one module in this fresh process and prints, as JSON, every module URL the loader
// resolved for it: `node --import tsx import-trace-child.ts <module path>`.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { register } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const target = process.argv[2];
if (target === undefined)
  throw new Error('Pass the module to import: import-trace-child.ts <path>');
const dir = mkdtempSync(join(tmpdir(), 'agate-import-trace-'));
const traceFile = join(dir, 'trace.txt');
register('./import-trace-hooks.ts', import.meta.url, { data: { traceFile } });
try {
  await import(pathToFileURL(resolve(target)).href);
  const urls = readFileSync(traceFile, 'utf8').split('\n').filter(Boolean);
  process.stdout.write(JSON.stringify(urls));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
