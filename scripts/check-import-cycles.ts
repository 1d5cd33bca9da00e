/**
 * Fails when relative imports form a cycle anywhere in the code (the lint step runs it). ESLint's
 * import plugins pull native resolver binaries that the package registry here does not carry.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

const roots = ['src', 'replay', 'partitions', 'bench', 'test'];

function sourceFiles(dir: string): string[] {
  let found: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) found = found.concat(sourceFiles(path));
    else if (path.endsWith('.ts')) found.push(resolve(path));
  }
  return found;
}

function importsOf(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  return info.importedFiles
    .map((ref) => ref.fileName)
    .filter((name) => name.startsWith('.'))
    .map((name) => resolve(dirname(file), name.replace(/\.js$/, '.ts')));
}

const files = roots.flatMap((root) => {
  try {
    return sourceFiles(root);
  } catch {
    return [];
  }
});
const graph = new Map(files.map((file) => [file, importsOf(file)]));
const state = new Map<string, 'visiting' | 'done'>();
const cycles: string[][] = [];

function visit(file: string, path: string[]): void {
  if (state.get(file) === 'done') return;
  if (state.get(file) === 'visiting') {
    cycles.push(path.slice(path.indexOf(file)).concat(file));
    return;
  }
  state.set(file, 'visiting');
  for (const next of graph.get(file) ?? []) if (graph.has(next)) visit(next, [...path, file]);
  state.set(file, 'done');
}

for (const file of files) visit(file, []);
for (const cycle of cycles) {
  console.error(`import cycle: ${cycle.map((f) => relative(process.cwd(), f)).join(' -> ')}`);
}
if (cycles.length > 0) process.exit(1);
console.log(`no import cycles in ${files.length} files`);
