import { AgateError } from '../errors/index.js';

/** DATABASE_URL from the environment, or a message that says how to set it. */
export function requireDatabaseUrl(env: NodeJS.ProcessEnv): string {
  const url = env.DATABASE_URL?.trim();
  if (url === undefined || url.length === 0) {
    throw new AgateError(
      'invalid_request',
      'DATABASE_URL is not set. Point it at PostgreSQL 15+, for example DATABASE_URL=postgres://postgres@127.0.0.1:5432/agate',
    );
  }
  if (!/^postgres(ql)?:\/\//.test(url)) {
    throw new AgateError(
      'invalid_request',
      'DATABASE_URL must start with postgres:// or postgresql://.',
    );
  }
  return url;
}
