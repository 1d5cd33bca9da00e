// The fresh process of freshProcessAgrees: reads {module, export, sessions} as JSON from stdin,
// imports the rules module (compiled JavaScript, or whatever the parent's execArgv loader runs),
// folds each session with agate's own fold and prints the state hashes along each as JSON.
import { hashesAlong, looksLikeRules } from './hashes-along.js';
import type { FoldInput } from './hashes-along.js';

type Request = { module: string; export: string; sessions: FoldInput[] };

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function main(): Promise<void> {
  const request = JSON.parse(await readStdin()) as Request;
  const loaded = (await import(request.module)) as Record<string, unknown>;
  const exported = loaded[request.export];
  const candidates: unknown[] = Array.isArray(exported) ? exported : [exported];
  const hashes = request.sessions.map((input) => {
    const { rules: name, rulesVersion } = input.session;
    const rules = candidates.find(
      (c) => looksLikeRules(c) && c.name === name && c.version === rulesVersion,
    );
    if (!looksLikeRules(rules)) {
      throw new Error(
        `${request.module} has no export "${request.export}" that is rules ${name} v${rulesVersion}; pass the module and export name of the rules under test.`,
      );
    }
    return hashesAlong(rules, input);
  });
  process.stdout.write(JSON.stringify(hashes));
}

try {
  await main();
} catch (error) {
  process.stderr.write(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exitCode = 1;
}
