import { describe, expect, it } from 'vitest';
import { replayAnswer } from '../../replay/index.js';
import type { ReplayResult } from '../../replay/index.js';

const result: ReplayResult = {
  sessionId: '0190a000-0000-7000-8000-000000000001',
  rulesVersion: 2,
  sequence: 7,
  stateHash: 'a'.repeat(64),
  state: { count: 3 },
  verified: null,
  divergences: [],
  snapshotUsed: { sequence: 5, reason: 'interval' },
  eventsReplayed: 2,
  trace: null,
};

describe('the answer to a replay', () => {
  it('lists every field in the fixed order, without a trace when none was asked for', () => {
    expect(JSON.stringify(replayAnswer(result))).toBe(
      JSON.stringify({
        sessionId: result.sessionId,
        rulesVersion: 2,
        sequence: 7,
        stateHash: result.stateHash,
        state: { count: 3 },
        verified: null,
        divergences: [],
        snapshotUsed: { sequence: 5, reason: 'interval' },
        eventsReplayed: 2,
      }),
    );
  });

  it('leaves out only the bookkeeping fields it is told to, keeping the others and the trace in order', () => {
    const trace = [{ sequence: 6, type: 'counter.incremented', stateHash: 'b'.repeat(64) }];
    const answer = replayAnswer({ ...result, trace }, ['rulesVersion', 'eventsReplayed']);
    expect(Object.keys(answer)).toEqual([
      'sessionId',
      'sequence',
      'stateHash',
      'state',
      'verified',
      'divergences',
      'snapshotUsed',
      'trace',
    ]);
    expect(answer).toMatchObject({ sequence: 7, trace });
  });
});
