import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { AgateClient } from '../../src/client/index.js';
import type { NewEventOf } from '../../src/client/index.js';
import type { archiveGateV1, gateEventTypes } from '../../src/game/index.js';
import type { EventInputOf, GameRules } from '../../src/game/index.js';
import { repoRoot } from '../support/run-cli.js';

// The typed client (issue 17, item 5): payloads typed from a rules module's zod schemas. The
// `@ts-expect-error` lines are checked by `npm run typecheck`; the compile test below checks the
// same from a file of its own, so this suite fails when a wrong payload starts to compile.

type GateInput = EventInputOf<typeof archiveGateV1>;

describe('EventInputOf', () => {
  it('is the union of every type and version of the rules, with data from its zod schema', () => {
    expectTypeOf<Extract<GateInput, { type: 'request.decided'; version: 2 }>>().toEqualTypeOf<{
      type: 'request.decided';
      version: 2;
      data: { requestId: string; decision: 'approve' | 'deny' | 'flag' };
    }>();
    expectTypeOf<GateInput['type']>().toEqualTypeOf<
      | 'day.started'
      | 'request.decided'
      | 'request.investigated'
      | 'defense.purchased'
      | 'day.ended'
      | 'session.ended'
    >();
    expectTypeOf<EventInputOf<typeof gateEventTypes>>().toEqualTypeOf<GateInput>();
  });

  it('falls back to plain strings for rules typed as GameRules', () => {
    expectTypeOf<EventInputOf<GameRules>>().toEqualTypeOf<{
      type: string;
      version: number;
      data: Record<string, unknown>;
    }>();
  });
});

describe('AgateClient.game<typeof archiveGateV1>().append', () => {
  const gate = new AgateClient({ baseUrl: 'http://agate.invalid', apiKey: 'k' }).game<
    typeof archiveGateV1
  >();
  // Never called: these lines exist for the compiler.
  const typeChecks = (): unknown => [
    gate.append('s', [
      { type: 'request.decided', version: 2, data: { requestId: 'r1', decision: 'flag' } },
      { type: 'request.decided', version: 1, data: { requestId: 'r1', approved: true } },
      { type: 'defense.purchased', data: { defense: 'mfa' } },
      { type: 'day.ended', version: 1, data: { seed: 'recorded' } },
      { type: 'session.ended', data: {}, clientTime: '2026-12-02T08:00:00Z' },
    ]),
    gate.append('s', [
      // @ts-expect-error an event type archive-gate does not define
      { type: 'request.approved', data: { requestId: 'r1' } },
    ]),
    gate.append('s', [
      // @ts-expect-error decision is one of approve, deny and flag
      { type: 'request.decided', version: 2, data: { requestId: 'r1', decision: 'ok' } },
    ]),
    gate.append('s', [
      // @ts-expect-error requestId is a string
      { type: 'request.investigated', data: { requestId: 7 } },
    ]),
    gate.append('s', [
      // @ts-expect-error v1's data with v2's version
      { type: 'request.decided', version: 2, data: { requestId: 'r', approved: true } },
    ]),
    gate.append('s', [
      // @ts-expect-error request.decided has two versions: name the one the data is for
      { type: 'request.decided', data: { requestId: 'r', decision: 'deny' } },
    ]),
  ];

  it('types each event by its type and version (checked by the compiler)', () => {
    expect(typeof typeChecks).toBe('function');
    expectTypeOf<NewEventOf<typeof archiveGateV1>>().toMatchTypeOf<{ type: string }>();
  });

  it('refuses to compile a wrong payload and compiles a right one, in a file of its own', () => {
    const dir = mkdtempSync(join(repoRoot, 'test/unit/.typed-client-'));
    const header = [
      "import { AgateClient } from '../../../src/client/index.js';",
      "import type { archiveGateV1 } from '../../../src/game/index.js';",
      "const gate = new AgateClient({ baseUrl: 'http://x', apiKey: 'k' }).game<typeof archiveGateV1>();",
    ].join('\n');
    const files = {
      right: `${header}\nvoid gate.append('s', [{ type: 'defense.purchased', data: { defense: 'firewall' } }]);\n`,
      unknownType: `${header}\nvoid gate.append('s', [{ type: 'defense.sold', data: { defense: 'firewall' } }]);\n`,
      wrongField: `${header}\nvoid gate.append('s', [{ type: 'defense.purchased', data: { defense: 3 } }]);\n`,
      extraField: `${header}\nvoid gate.append('s', [{ type: 'defense.purchased', data: { defense: 'mfa', price: 1 } }]);\n`,
    };
    try {
      const paths = Object.fromEntries(
        Object.entries(files).map(([name, text]) => {
          const path = join(dir, `${name}.ts`);
          writeFileSync(path, text);
          return [name, path];
        }),
      );
      const config = ts.getParsedCommandLineOfConfigFile(
        join(repoRoot, 'tsconfig.json'),
        { noEmit: true },
        { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined },
      );
      const program = ts.createProgram(Object.values(paths), config?.options ?? {});
      const errorsIn = (name: string) =>
        ts
          .getPreEmitDiagnostics(program, program.getSourceFile(paths[name] ?? ''))
          .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      expect(errorsIn('right')).toEqual([]);
      expect(errorsIn('unknownType').join('\n')).toMatch(/defense\.sold/);
      expect(errorsIn('wrongField').join('\n')).toMatch(/number/);
      // TypeScript names the field or says its value fits no member (`never`): an error either way.
      expect(errorsIn('extraField')).not.toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
