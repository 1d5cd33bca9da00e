import { defaultReplicaWaitMs, readNearest } from '../placements/index.js';
import type { Command } from 'commander';
import { recordReplayed, replayAnswer } from '../../replay/index.js';
import type { ReplayResult } from '../../replay/index.js';
import { tenantArgument, oneOfArgument, wholeNumberArgument } from './cli-arguments.js';
import { cliActor } from './cli-audit.js';
import { exitCodes } from './exit-codes.js';
import { openAgate } from './open-agate.js';

type ReplayFlags = {
  tenant: string;
  to?: number;
  from?: 'genesis' | 'snapshot';
  verify?: boolean;
  trace?: boolean;
  json?: boolean;
};

function startOf(result: ReplayResult, flags: ReplayFlags): string {
  if (result.snapshotUsed !== null) {
    return `snapshot at ${result.snapshotUsed.sequence} (${result.snapshotUsed.reason})`;
  }
  if (flags.verify === true) return 'genesis (--verify always starts there)';
  return flags.from === 'genesis' ? 'genesis' : 'genesis (no usable snapshot)';
}

function verifiedOf(result: ReplayResult): string {
  if (result.verified === null) return 'not checked (pass --verify)';
  return result.verified ? 'yes: chain, snapshots, anchors and head agree' : 'NO';
}

function describeReplay(result: ReplayResult, flags: ReplayFlags): string {
  const lines = [
    `Session ${result.sessionId} (rules v${result.rulesVersion})`,
    `  sequence:      ${result.sequence}`,
    `  state hash:    ${result.stateHash}`,
    `  from:          ${startOf(result, flags)}; ${result.eventsReplayed} event(s) replayed`,
    `  verified:      ${verifiedOf(result)}`,
    `  divergences:   ${result.divergences.length}`,
    ...result.divergences.map((d) => `    ${d.kind} at ${d.sequence}: ${d.message}`),
  ];
  if (result.trace !== null) {
    const width = String(result.sequence).length;
    const typeWidth = Math.max(0, ...result.trace.map((step) => step.type.length));
    lines.push(
      '',
      ...result.trace.map(
        (step) =>
          `${String(step.sequence).padStart(width)}  ${step.type.padEnd(typeWidth)}  ${step.stateHash}`,
      ),
    );
  }
  return lines.join('\n');
}

export function addReplayCommand(program: Command): void {
  program
    .command('replay')
    .description(
      "rebuild a session's state from its seed and events, optionally verifying chain, snapshots and anchors",
    )
    .argument('<sessionId>', 'the session to replay')
    .requiredOption('--tenant <id>', 'the tenant the session belongs to (a UUID)', tenantArgument)
    .option(
      '--to <n>',
      "replay up to this sequence (default: the session's last)",
      wholeNumberArgument('--to'),
    )
    .option(
      '--from <genesis|snapshot>',
      'start from the initial state or the newest usable snapshot (default snapshot)',
      oneOfArgument('--from', ['genesis', 'snapshot']),
    )
    .option(
      '--verify',
      'replay from genesis and check every stored snapshot, the hash chain and the anchors (exit 3 on a divergence)',
    )
    .option('--trace', 'also print the sequence, type and state hash after every event')
    .option(
      '--json',
      'print {sessionId, sequence, stateHash, state, verified, divergences, snapshotUsed} (and trace)',
    )
    .action(async (sessionId: string, flags: ReplayFlags) => {
      const opened = await openAgate(process.env, { inline: true });
      const { close } = opened;
      try {
        const placed = await opened.placements.agateFor(flags.tenant);
        const { agate } = placed;
        const options = {
          to: flags.to,
          from: flags.from,
          verify: flags.verify,
          trace: flags.trace,
        };
        // On the placement's replica when it has one (ADR 0033), the primary otherwise.
        const need = { tenantId: flags.tenant, sessionId, minSequence: flags.to };
        const { value: result } = await readNearest(
          placed,
          need,
          { waitMs: defaultReplicaWaitMs },
          (reader) =>
            reader.replay({
              tenantId: flags.tenant,
              sessionId,
              role: 'agate_analyst',
              ...options,
            }),
        );
        await recordReplayed(agate.pool, {
          tenantId: flags.tenant,
          actor: cliActor,
          query: options,
          result,
        });
        console.log(
          flags.json === true
            ? // without the bookkeeping fields, as the help for --json lists
              JSON.stringify(replayAnswer(result, ['rulesVersion', 'eventsReplayed']))
            : describeReplay(result, flags),
        );
        // A corrupt snapshot found on the way counts too: the store holds something wrong.
        if (result.divergences.length > 0) process.exitCode = exitCodes.divergence;
      } finally {
        await close();
      }
    });
}
