import fc from 'fast-check';

// Fixed seed in CI so every run tries the same cases; FC_SEED=<n> explores others locally. A
// failure prints { seed, path }: rerun with FC_SEED=<seed> and pass `path` (with endOnFailure) to
// the failing property to replay it, then keep the case as a regression test.
const seed = process.env.FC_SEED === undefined ? 20261123 : Number(process.env.FC_SEED);
fc.configureGlobal({ seed, verbose: 1 });
