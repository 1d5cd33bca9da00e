import { describe, expect, it } from 'vitest';
import { archiveGateV1, gateEventTypes } from '../../src/game/index.js';
import { upcastEvent } from '../../replay/index.js';

const declared = archiveGateV1.analyticsFields ?? {};

/** The fields of an event as the analytics consumer computes them: upcast first, then declared. */
function fieldsOf(type: string, version: number, data: Record<string, unknown>) {
  const upcast = upcastEvent(archiveGateV1, { sequence: 1, type, version, data });
  const declare = declared[upcast.type];
  return declare === undefined ? undefined : declare(upcast.data);
}

describe('archive-gate’s analytics fields', () => {
  it('give a decision, its request and the request’s day, for both versions of request.decided', () => {
    expect(fieldsOf('request.decided', 2, { requestId: 'd3-r2', decision: 'flag' })).toEqual({
      requestId: 'd3-r2',
      day: 3,
      decision: 'flag',
    });
    expect(fieldsOf('request.decided', 1, { requestId: 'd12-r1', approved: true })).toEqual({
      requestId: 'd12-r1',
      day: 12,
      decision: 'approve',
    });
    expect(fieldsOf('request.decided', 1, { requestId: 'd1-r4', approved: false })).toEqual({
      requestId: 'd1-r4',
      day: 1,
      decision: 'deny',
    });
  });

  it('leave the day null for a request id the rules never draw, rather than guess one', () => {
    for (const requestId of ['x', 'd0-r1', 'd3', 'd3-r0', 'd03-r1', 'd3-r1-extra', 'D3-r1'])
      expect(fieldsOf('request.investigated', 1, { requestId }), requestId).toEqual({
        requestId,
        day: null,
      });
  });

  it('give the defense bought and the reason a session ended (null when none was given)', () => {
    expect(fieldsOf('defense.purchased', 1, { defense: 'mfa' })).toEqual({ defense: 'mfa' });
    expect(fieldsOf('session.ended', 1, { reason: 'quit' })).toEqual({ reason: 'quit' });
    expect(fieldsOf('session.ended', 1, {})).toEqual({ reason: null });
  });

  it('declare nothing for the day events (the seed tells an analyst nothing) and only known types', () => {
    expect(fieldsOf('day.started', 1, {})).toBeUndefined();
    expect(fieldsOf('day.ended', 1, { seed: 's' })).toBeUndefined();
    const known = new Set<string>(gateEventTypes.definitions().map((d) => d.type));
    for (const type of Object.keys(declared)) expect(known.has(type), type).toBe(true);
  });

  it('are pure: the same data gives the same fields, the data is not changed, values are flat', () => {
    const data = Object.freeze({ requestId: 'd2-r3', decision: 'deny' });
    const first = fieldsOf('request.decided', 2, data);
    expect(fieldsOf('request.decided', 2, data)).toEqual(first);
    expect(data).toEqual({ requestId: 'd2-r3', decision: 'deny' });
    for (const value of Object.values(first ?? {}))
      expect(['string', 'number', 'boolean'].includes(typeof value) || value === null).toBe(true);
  });
});
