/** What every bench entry point accepts: `--quick`, `--only <name,...>`, and where the servers are. */
export type BenchArgs = {
  quick: boolean;
  only: string[];
  adminUrl: string;
  redisUrl: string;
};

/** Parses the command line; `known` lists what `--only` may name. Throws on anything else. */
export function parseBenchArgs(args: readonly string[], known: readonly string[]): BenchArgs {
  const only: string[] = [];
  const unknown: string[] = [];
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i] ?? '';
    if (arg === '--quick') continue;
    if (arg === '--only' && args[i + 1] !== undefined) {
      only.push(...(args[i + 1] ?? '').split(',').filter((s) => s !== ''));
      i += 1;
    } else unknown.push(arg);
  }
  if (unknown.length > 0) {
    throw new Error(
      `Unknown argument(s) ${unknown.join(' ')}; options: --quick${known.length === 0 ? '' : `, --only <name,...> (${known.join(', ')})`}.`,
    );
  }
  const missing = only.filter((id) => !known.includes(id));
  if (missing.length > 0) {
    throw new Error(`--only: no ${missing.join(', ')}; choose from ${known.join(', ')}.`);
  }
  return {
    quick: args.includes('--quick'),
    only,
    adminUrl: process.env.AGATE_BENCH_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    redisUrl: process.env.AGATE_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379',
  };
}
