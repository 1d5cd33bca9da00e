import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const childFile = fileURLToPath(new URL('./replay-child.ts', import.meta.url));
/** Inside the repository, so that the compiled child resolves packages from its node_modules. */
const childBuildDir = join(repoRoot, 'node_modules', '.cache', 'agate-bench-child');

/**
 * Compiles the child and everything it imports from the current sources, with the project's
 * tsconfig, into `childBuildDir`, and returns the child's entry point. The child then runs as
 * plain JavaScript, as agate does in production (bin/agate.js runs dist/): under tsx the same
 * child started at ~155 MB before any work, ~80 MB of it tsx transforming the PGlite bundle that
 * src/db imports, which would be counted as the replay's peak RSS.
 */
export function compileChild(): string {
  const configPath = join(repoRoot, 'tsconfig.json');
  const read = ts.readConfigFile(configPath, (path) => ts.sys.readFile(path));
  if (read.error !== undefined) {
    throw new Error(ts.flattenDiagnosticMessageText(read.error.messageText, '\n'));
  }
  const config: unknown = read.config;
  const overrides = { outDir: childBuildDir, noEmit: false, declaration: false, sourceMap: false };
  const { options } = ts.parseJsonConfigFileContent(config, ts.sys, repoRoot, overrides);
  const emitted = ts.createProgram({ rootNames: [childFile], options }).emit();
  if (emitted.emitSkipped) throw new Error(`Could not compile ${childFile} for the bench.`);
  return join(childBuildDir, 'bench', 'support', 'replay-child.js');
}
