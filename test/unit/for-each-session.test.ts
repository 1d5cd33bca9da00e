import { describe, expect, it } from 'vitest';
import { forEachSession } from '../../src/events/index.js';
import type { SessionEvents } from '../../src/events/index.js';

const groups: SessionEvents[] = Array.from({ length: 10 }, (_, i) => ({
  tenantId: 't',
  sessionId: `s${i}`,
  events: [],
}));

/** A handle that records how many run at once and finishes when told. */
function tracked() {
  let running = 0;
  let most = 0;
  const done: string[] = [];
  const handle = async (group: SessionEvents) => {
    running += 1;
    most = Math.max(most, running);
    await Promise.resolve();
    await Promise.resolve();
    running -= 1;
    if (group.sessionId === 's3') throw new Error('s3 failed');
    done.push(group.sessionId);
  };
  return { handle, most: () => most, done };
}

describe('forEachSession', () => {
  it('runs at most `concurrency` sessions at once and every one when none fails', async () => {
    const t = tracked();
    await forEachSession(
      groups.filter((g) => g.sessionId !== 's3'),
      4,
      t.handle,
    );
    expect(t.most()).toBe(4);
    expect(t.done.sort()).toEqual(['s0', 's1', 's2', 's4', 's5', 's6', 's7', 's8', 's9']);
  });

  it('throws the first failure once every started session settled, and starts no more after it', async () => {
    const t = tracked();
    await expect(forEachSession(groups, 2, t.handle)).rejects.toThrow('s3 failed');
    // s4 may have started beside s3 before s3 failed; nothing after it.
    expect(t.done.slice(0, 3)).toEqual(['s0', 's1', 's2']);
    expect(t.done.length).toBeLessThanOrEqual(4);
  });
});
