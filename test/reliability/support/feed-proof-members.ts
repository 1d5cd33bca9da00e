import { setTimeout as pause } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { unitHash } from '../append-faults-ledger.js';
import { startScript, waitFor } from './jobs-processes.js';
import type { Child, OnFinished } from './jobs-processes.js';

// The consumer group members of the feed's adversarial test: each a child process
// (test/support/feed-consumer-child.ts) that the parent kills, restarts and pauses on a seeded
// schedule.

const script = fileURLToPath(new URL('../../support/feed-consumer-child.ts', import.meta.url));

export type Member = {
  consumer: string;
  name: string;
  incarnation: number;
  child: Child | null;
  /** Output of every earlier incarnation, for the failure report and the error check. */
  history: string[];
};

export type GroupEnv = {
  DATABASE_URL: string;
  AGATE_TENANT: string;
  AGATE_LEASE_MS: string;
  AGATE_SLOTS: string;
};

export type Pause = {
  member: string;
  consumer: string;
  incarnation: number;
  stoppedAt: number;
  continuedAt: number;
  /** The slots it owned when it was stopped, and those of them still its when it was continued. */
  ownedAtStop: number[];
  ownedAtContinue: number[];
};

/** The slots of `consumer` that `member` owns now. */
export type SlotsOf = (consumer: string, member: string) => Promise<number[]>;
export type ChaosLog = { kills: number; pauses: Pause[] };

/** Starts the member's next incarnation and waits until it has joined its group. */
export async function startMember(
  member: Member,
  env: GroupEnv & Record<string, string>,
  onFinished: OnFinished,
): Promise<void> {
  member.incarnation += 1;
  const child = startScript(
    script,
    {
      ...env,
      AGATE_CONSUMER: member.consumer,
      AGATE_MEMBER: member.name,
      AGATE_INCARNATION: String(member.incarnation),
    },
    onFinished,
  );
  member.child = child;
  let exited = false;
  void child.exited.then(() => (exited = true));
  await waitFor(`${member.name} (incarnation ${member.incarnation}) to join`, () => {
    if (exited) throw new Error(`${member.name} exited: ${child.output()}`);
    return Promise.resolve(/^ready$/m.test(child.output()));
  });
}

/** SIGKILLs the member and waits for its exit. */
export async function killMember(member: Member): Promise<void> {
  const child = member.child;
  if (child === null) return;
  child.kill('SIGKILL');
  await child.exited;
  member.history.push(child.output());
  member.child = null;
}

/** Every error line the member's incarnations printed, by code. */
export function errorsOf(member: Member): { error: string; message: string }[] {
  const outputs = [...member.history, member.child?.output() ?? ''];
  return outputs.flatMap((o) =>
    o
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { error: string; message: string }),
  );
}

export type ChaosPlan = {
  seed: string;
  actions: number;
  leaseMs: number;
  /** Longest wait between two actions. */
  maxGapMs: number;
};

/**
 * The seeded schedule: each action picks a member and either SIGKILLs it and starts it again
 * after a moment, or SIGSTOPs it for 2.5 leases (so its slots are taken over) and SIGCONTs it.
 */
export async function runChaos(
  members: readonly Member[],
  plan: ChaosPlan,
  restart: (member: Member) => Promise<void>,
  slotsOf: SlotsOf,
): Promise<ChaosLog> {
  const log: ChaosLog = { kills: 0, pauses: [] };
  for (let a = 0; a < plan.actions; a += 1) {
    const u = (what: string) => unitHash(plan.seed, 'chaos', a, what);
    await pause(u('gap') * plan.maxGapMs);
    const member = members[Math.floor(u('member') * members.length)]!;
    const child = member.child;
    if (child === null) continue;
    if (u('kind') < 0.5) {
      await killMember(member);
      log.kills += 1;
      await pause(u('down') * plan.leaseMs);
      await restart(member);
    } else {
      child.kill('SIGSTOP');
      const stoppedAt = Date.now();
      const ownedAtStop = await slotsOf(member.consumer, member.name);
      await pause(plan.leaseMs * 2.5);
      const ownedAtContinue = await slotsOf(member.consumer, member.name);
      child.kill('SIGCONT');
      log.pauses.push({
        member: member.name,
        consumer: member.consumer,
        incarnation: member.incarnation,
        stoppedAt,
        continuedAt: Date.now(),
        ownedAtStop,
        ownedAtContinue: ownedAtContinue.filter((s) => ownedAtStop.includes(s)),
      });
    }
  }
  return log;
}
