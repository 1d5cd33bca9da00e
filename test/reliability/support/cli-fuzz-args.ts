import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import type { Command } from 'commander';
import fc from 'fast-check';

// Arguments for the in-process fuzzing of the CLI's parsing: the command tree's own names and
// flags, values that are nearly right, hostile text, and noise. What a shell could never pass
// is left out: argv entries are C strings (no NUL) decoded from bytes (no lone surrogate).

/** Every command path and flag of a program, read from the tree, so new commands are fuzzed too. */
export type Vocabulary = {
  paths: string[][];
  /** Flags by command path (joined by a space); each knows whether it takes a value. */
  flags: Map<string, Flag[]>;
  /** How many positional arguments each command path takes. */
  positionals: Map<string, number>;
  names: string[];
};

type Flag = { flag: string; takesValue: boolean; mandatory: boolean };

export function vocabularyOf(program: Command): Vocabulary {
  const paths: string[][] = [];
  const flags = new Map<string, Flag[]>();
  const positionals = new Map<string, number>();
  const walk = (command: Command, path: string[]) => {
    paths.push(path);
    flags.set(
      path.join(' '),
      command.options.flatMap((o) =>
        [o.long, o.short]
          .filter((f): f is string => f !== undefined)
          .map((flag) => ({ flag, takesValue: o.required || o.optional, mandatory: o.mandatory })),
      ),
    );
    positionals.set(path.join(' '), command.registeredArguments.length);
    for (const sub of command.commands) walk(sub, [...path, sub.name()]);
  };
  walk(program, []);
  const names = [...new Set(paths.flat())];
  return { paths, flags, positionals, names };
}

/** A folder of small files the fuzzer may name: the only existing paths it ever passes. */
export function makeSandbox(dir: string): string[] {
  const files: Record<string, string> = {
    'bad-fixtures/x.json': 'not json',
    'odd-fixtures/nested/a.json': '{}',
    'lines.jsonl': 'not json\n',
    'session.jsonl': `${JSON.stringify({ seed: 's', rules: 'archive-gate', events: [{ type: 'x', data: {} }] })}\n`,
    'blank.jsonl': '\n\n',
    'fixture.json': '{"name": "fixture"}',
  };
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  mkdirSync(join(dir, 'empty'), { recursive: true });
  return [...Object.keys(files), 'empty', 'bad-fixtures', 'odd-fixtures', './lines.jsonl'];
}

const uuid = '0190a000-0000-7000-8000-00000000000b';

const hostile = [
  '',
  ' ',
  '-',
  '--',
  '---',
  '-h',
  '--help',
  'help',
  '--version',
  '-V',
  '--memory',
  '=',
  '\t',
  '\n',
  'null',
  'undefined',
  '__proto__',
  'constructor',
  'toString',
  '-1',
  '0',
  '1',
  '1e3',
  '0x10',
  '1.5',
  ' 1',
  'NaN',
  'Infinity',
  '9007199254740993',
  '99999999999999999999',
  "'; DROP TABLE game.events; --",
  `${uuid}'; SET app.tenant_id = '${uuid}`,
  '$(id)',
  '`id`',
  '${HOME}',
  '%s%n%x',
  '../../../../etc/passwd',
  'é',
  '😀',
  '\u202e',
  'ＡＢＣ',
  uuid,
  uuid.toUpperCase(),
  `{${uuid}}`,
  ` ${uuid}`,
  `${uuid}\n`,
  '00000000-0000-0000-0000-000000000000',
  'postgres://postgres@127.0.0.1:1/x',
  'genesis',
  'snapshot',
  'active',
  'ended',
  'admin',
  'game_server',
  'analyst',
  'auto',
  'native',
  'pg_partman',
  'x'.repeat(201),
  'x'.repeat(5000),
];

/** Values a flag of that name expects, so that many runs get past parsing into the action. */
export const plausible: Record<string, readonly string[]> = {
  '--tenant': [uuid, uuid.toUpperCase()],
  '--role': ['admin', 'game_server', 'analyst'],
  '--status': ['active', 'ended'],
  '--from': ['genesis', 'snapshot'],
  '--backend': ['auto', 'native', 'pg_partman'],
  '--to': ['0', '1', '50'],
  '--limit': ['1', '20'],
  '--premake': ['1', '3'],
  '--retention-months': ['1', '12'],
  '--concurrency': ['1', '4', '16'],
  '--sessions': ['1', '5'],
  '--seed': ['agate', 'x'],
  '--label': ['ci', 'a label'],
  '--rules': ['archive-gate', 'tiny'],
};

/** A command line that parses: positionals as UUIDs, each mandatory flag with a plausible value. */
export function minimalArgs(vocabulary: Vocabulary, path: string[]): string[] {
  const key = path.join(' ');
  const positionals = Array.from({ length: vocabulary.positionals.get(key) ?? 0 }, () => uuid);
  const flags = (vocabulary.flags.get(key) ?? [])
    .filter((f) => f.mandatory && f.flag.startsWith('--'))
    .flatMap((f) => [f.flag, plausible[f.flag]?.[0] ?? 'x']);
  return [...path, ...positionals, ...flags];
}

/** What argv can hold: no NUL, no lone surrogate; and no existing path outside the sandbox. */
export function argvSafe(sandbox: string): (token: string) => string {
  return (token) => {
    const text = token.replaceAll('\u0000', '').replace(/\p{Surrogate}/gu, '\ufffd');
    if (text === '' || text.startsWith('-')) return text;
    const path = resolve(sandbox, text);
    const inside = path === sandbox || path.startsWith(`${sandbox}${sep}`);
    return existsSync(path) && !inside ? 'no-such-path' : text;
  };
}

/** Whole argument lists: mostly a real command with its flags mixed up, sometimes pure noise. */
export function argvArbitrary(
  vocabulary: Vocabulary,
  sandboxFiles: readonly string[],
  safe: (t: string) => string,
): fc.Arbitrary<string[]> {
  const allFlags = [...new Set([...vocabulary.flags.values()].flat().map((f) => f.flag))];
  const value = fc.oneof(
    { weight: 4, arbitrary: fc.uuid() },
    { weight: 6, arbitrary: fc.constantFrom(...hostile) },
    { weight: 2, arbitrary: fc.constantFrom(...sandboxFiles) },
    { weight: 3, arbitrary: fc.string({ maxLength: 12 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 8 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 8 }) },
    { weight: 2, arbitrary: fc.integer({ min: -5, max: 100_000 }).map(String) },
  );
  const token = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...vocabulary.names) },
    { weight: 3, arbitrary: fc.constantFrom(...allFlags) },
    { weight: 4, arbitrary: value },
  );
  const commandLine = fc
    .constantFrom(...vocabulary.paths.filter((p) => p.length > 0))
    .chain((path) => {
      const own = vocabulary.flags.get(path.join(' ')) ?? [];
      const flag =
        own.length === 0
          ? fc.constantFrom(...allFlags)
          : fc.constantFrom(...own.map((f) => f.flag));
      const part = fc.oneof(
        { weight: 5, arbitrary: fc.tuple(flag, value).map(([f, v]) => [f, v]) },
        { weight: 2, arbitrary: fc.tuple(flag, value).map(([f, v]) => [`${f}=${v}`]) },
        { weight: 2, arbitrary: flag.map((f) => [f]) },
        { weight: 3, arbitrary: value.map((v) => [v]) },
        { weight: 1, arbitrary: token.map((t) => [t]) },
      );
      return fc.array(part, { maxLength: 6 }).map((parts) => [...path, ...parts.flat()]);
    });
  const noise = fc.array(token, { maxLength: 8 });
  // Nearly right: every positional and mandatory flag present, values mostly plausible.
  const wellFormed = fc
    .constantFrom(...vocabulary.paths.filter((p) => p.length > 0))
    .chain((path) => {
      const key = path.join(' ');
      const own = (vocabulary.flags.get(key) ?? []).filter((f) => f.flag.startsWith('--'));
      const valueOf = (flag: string) => {
        const good = plausible[flag];
        return good === undefined
          ? value
          : fc.oneof(
              { weight: 6, arbitrary: fc.constantFrom(...good) },
              { weight: 1, arbitrary: value },
            );
      };
      const positional = fc.oneof(fc.uuid(), fc.constantFrom(uuid, ...sandboxFiles), value);
      const options = own.map((f) => {
        const present = f.mandatory ? fc.constant(true) : fc.boolean();
        const given = f.takesValue
          ? valueOf(f.flag).map((v) => [f.flag, v])
          : fc.constant([f.flag]);
        return fc.tuple(present, given).map(([p, g]) => (p ? g : []));
      });
      return fc
        .tuple(
          fc.array(positional, {
            minLength: vocabulary.positionals.get(key) ?? 0,
            maxLength: vocabulary.positionals.get(key) ?? 0,
          }),
          fc.tuple(...options),
        )
        .map(([args, opts]) => [...path, ...args, ...opts.flat()]);
    });
  return fc
    .oneof(
      { weight: 3, arbitrary: wellFormed },
      { weight: 4, arbitrary: commandLine },
      { weight: 1, arbitrary: noise },
    )
    .map((args) => args.map(safe));
}
