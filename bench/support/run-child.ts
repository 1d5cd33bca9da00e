import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/** What one child measures: `agate-genesis` replays a session from its initial state; `raw-read` reads its rows with plain pg. */
export type ChildMode = 'agate-genesis' | 'raw-read';
export const childModes: readonly ChildMode[] = ['agate-genesis', 'raw-read'];

export const childResultSchema = z.strictObject({
  mode: z.enum(['agate-genesis', 'raw-read']),
  /** Wall time of the replay or read alone (connecting and loading modules are not in it). */
  ms: z.number(),
  events: z.number().int(),
  /** Peak resident set of the whole child (VmHWM: its own, not its parent's). */
  maxRssMb: z.number(),
  /** The same peak just before the measured work began: what loading and connecting cost. */
  baseRssMb: z.number(),
  /** The replayed state's hash (agate-genesis only). */
  stateHash: z.string().nullable(),
});
export type ChildResult = z.infer<typeof childResultSchema>;

export type ChildArgs = { mode: ChildMode; url: string; tenantId: string; sessionId: string };

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
/**
 * Runs one measurement in a fresh Node process, from the child that `compileChild` (compile-child.ts) built, so
 * that its peak RSS belongs to that measurement alone. The child prints one JSON line; its
 * stderr passes through.
 */
export function runChild(compiledChild: string, args: ChildArgs): Promise<ChildResult> {
  const argv = [compiledChild, args.mode, args.url, args.tenantId, args.sessionId];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      const out = Buffer.concat(chunks).toString('utf8').trim();
      if (code !== 0) {
        reject(new Error(`${args.mode} child exited with ${code}: ${out}`));
        return;
      }
      try {
        resolve(childResultSchema.parse(JSON.parse(out.split('\n').at(-1) ?? '')));
      } catch (error) {
        reject(new Error(`${args.mode} child printed no result: ${out}`, { cause: error }));
      }
    });
  });
}
