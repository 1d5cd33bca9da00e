import type { FastifyReply, FastifyRequest } from 'fastify';
import { isConnectionFailure } from '../db/index.js';
import { AgateError, isAgateError } from '../errors/index.js';
import { databaseNameOf, readCaughtUp, readNearest } from '../placements/index.js';
import type { PlacedAgate, Placement, PlacementRouter } from '../placements/index.js';
import type { Agate } from '../runtime/index.js';
import type { ApiContext } from './api-context.js';
import { principalOf } from './auth.js';

const placedRequests = new WeakMap<FastifyRequest, { tenantId: string; placement: Placement }>();

/**
 * The Agate over the calling key's tenant's placement (ADR 0032): the control plane's for a
 * shared tenant, the named server's for a `database:` one. The placement is remembered for the
 * error mapper, so a database that does not answer is named to its own tenants.
 */
export async function tenantAgate(context: ApiContext, request: FastifyRequest): Promise<Agate> {
  return (await tenantPlacement(context, request)).agate;
}

/** The calling key's tenant's placement with its primary's and (if any) its replica's Agate. */
export async function tenantPlacement(
  context: ApiContext,
  request: FastifyRequest,
): Promise<PlacedAgate<Agate>> {
  const { tenantId } = principalOf(request);
  const placed = await context.placements.agateFor(tenantId);
  placedRequests.set(request, { tenantId, placement: placed.placement });
  return placed;
}

/**
 * Runs a read of one session on the tenant placement's replica when it has one (ADR 0033), with
 * read-your-writes from `minSequence`; says where it was served in `x-agate-read-from` and counts
 * it in `agate_replica_reads_total`.
 */
export async function readSession<T>(
  context: ApiContext,
  request: FastifyRequest,
  reply: FastifyReply,
  need: { sessionId: string; minSequence?: number },
  work: (agate: Agate) => Promise<T>,
): Promise<T> {
  const placed = await tenantPlacement(context, request);
  const { value, from } = await readNearest(
    placed,
    { tenantId: principalOf(request).tenantId, ...need },
    { waitMs: context.replicaWaitMs },
    work,
  );
  if (placed.replica !== null) {
    context.metrics.replicaReads.inc({ placement: placed.placement, from });
  }
  void reply.header('x-agate-read-from', from);
  return value;
}

/**
 * Runs a read of the tenant's data that must see everything committed before it started (an
 * export) on the placement's replica once it has replayed that far (`readCaughtUp`), else on the
 * primary; says where in `x-agate-read-from` and counts it in `agate_replica_reads_total`.
 */
export async function readTenantCaughtUp<T>(
  context: ApiContext,
  request: FastifyRequest,
  reply: FastifyReply,
  work: (agate: Agate) => Promise<T>,
): Promise<{ value: T; primary: Agate }> {
  const placed = await tenantPlacement(context, request);
  const { value, from } = await readCaughtUp(placed, { waitMs: context.replicaWaitMs }, work);
  if (placed.replica !== null) {
    context.metrics.replicaReads.inc({ placement: placed.placement, from });
  }
  void reply.header('x-agate-read-from', from);
  return { value, primary: placed.agate };
}

/**
 * `unavailable` from a request whose placement's own server cannot be reached becomes
 * `placement_unavailable` naming the placement (never its host): the other tenants are served.
 * `tenant_moving` from the placement a tenant has moved away from (`moved`) makes `placements`
 * forget the tenant, so the retry asks the control plane where it lives now.
 */
export function placedError(
  error: unknown,
  request: FastifyRequest,
  placements: Pick<PlacementRouter, 'forget'>,
): unknown {
  const placed = placedRequests.get(request);
  if (isAgateError(error, 'tenant_moving')) {
    if (placed !== undefined && error.details.moved === true) placements.forget(placed.tenantId);
    return error;
  }
  const placement = placed?.placement;
  const name = placement === undefined ? null : databaseNameOf(placement);
  if (name === null || !isAgateError(error, 'unavailable') || !isConnectionFailure(error)) {
    return error;
  }
  return new AgateError(
    'placement_unavailable',
    `This tenant's data is on database server ${name}, which does not answer right now; retry with backoff (its state is in /readyz).`,
    { cause: error, details: { placement } },
  );
}
