import type { FastifyInstance } from 'fastify';
import { schemaStatus } from '../../db/index.js';
import { AgateError, isAgateError } from '../../errors/index.js';
import type { ApiContext } from '../api-context.js';

const readyTimeoutMs = 3_000;

function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new AgateError('unavailable', `The database did not answer within ${ms} ms.`)),
      ms,
    );
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

/** `/healthz`: the process answers. `/readyz`: the database answers at the expected migration. */
export function registerHealthRoutes(app: FastifyInstance, context: ApiContext): void {
  app.get('/healthz', { config: { access: 'public' } }, () => ({ status: 'ok' }));

  app.get('/readyz', { config: { access: 'public' } }, async () => {
    const status = await withDeadline(schemaStatus(context.agate.pool), readyTimeoutMs).catch(
      (error: unknown) => {
        // Whatever keeps the database from answering makes this process not ready: never a 500.
        throw isAgateError(error, 'unavailable')
          ? error
          : new AgateError('unavailable', 'The database check failed.', { cause: error });
      },
    );
    if (status.pending.length > 0) {
      throw new AgateError(
        'unavailable',
        `The database is at migration ${status.applied} of ${status.expected}; run agate migrate.`,
      );
    }
    return { status: 'ready', migrations: status.applied };
  });
}
