/**
 * A PostgreSQL wire-protocol proxy of the tests' own (127.0.0.1, random port) that cuts agate's
 * append at a chosen moment. node-postgres sends a parameterised query with the extended protocol:
 * Parse (the SQL text, where `game.append_events` is recognised), Bind (the parameters: session id
 * and events, whose first event id keys the schedule), Describe, Execute, Sync. In autocommit the
 * server runs the statement in an implicit transaction that commits at Sync, and it flushes its
 * replies only at ReadyForQuery (or on a Flush), so the three moments are exact:
 *
 * - `before`: the exchange is held back until its Sync, then dropped and both sockets destroyed;
 *   the server never sees the statement.
 * - `running`: Parse..Execute are forwarded with a Flush in place of the Sync. When the server's
 *   CommandComplete (or error) arrives the function has run: its rows are written and it holds the
 *   session row lock, uncommitted. That is "while it runs": the client is cut then, nothing of the
 *   reply reaches it. The orphaned server connection is kept, holding the lock, until the next append
 *   on the same session is forwarded (usually the retry, which then queues behind it) or `settle()`;
 *   then it ends as planned: `commit` (the held Sync is sent: the statement commits without anyone
 *   to tell) or `rollback` (Terminate: the backend aborts it, as when the connection dies before
 *   Sync). Either way the client only saw a connection that died mid-statement.
 * - `after-commit`: everything is forwarded; the server's reply is held until ReadyForQuery (the
 *   commit has happened), then dropped and both sockets destroyed: the acknowledgement is lost.
 *
 * A cut's `settled` resolves when its server connection has closed: for `rollback` the backend has
 * closed its socket only after aborting, so the batch is then surely absent.
 */
import { connect, createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';

export type CutPlan =
  | { phase: 'before' }
  | { phase: 'running'; end: 'commit' | 'rollback' }
  | { phase: 'after-commit' };

export type CutPhase = CutPlan['phase'];

/** An append as the proxy saw it; `attempt` counts the appends seen with the same first event id. */
export type SeenAppend = { sessionId: string; eventIds: readonly string[]; attempt: number };

/** What the server answered before the cut (nothing for `before`). */
export type ServerAnswer =
  | { kind: 'row'; outcome: string; firstSequence: number | null }
  | { kind: 'error'; code: string; message: string }
  | { kind: 'none' };

export type Cut = SeenAppend & { plan: CutPlan; answer: ServerAnswer; settled: Promise<void> };

export type FaultProxyOptions = {
  /** The PostgreSQL server behind the proxy. */
  target: { host: string; port: number };
  /** The schedule: which appends to cut, and how (null: let it through). */
  decide(append: SeenAppend): CutPlan | null;
};

export type FaultProxy = {
  /** `url` (a postgres:// connection string) rewritten to connect through the proxy. */
  proxied(url: string): string;
  /** Every cut so far, in the order they happened. */
  cuts(): readonly Cut[];
  /** The cuts of the batch whose first event id this is, in attempt order. */
  cutsOf(firstEventId: string): readonly Cut[];
  appendsSeen(): number;
  /** What the proxy could not handle (an append it did not recognise): must stay empty. */
  problems(): readonly string[];
  /** Ends every held statement as planned and waits until every cut's server side is done. */
  settle(): Promise<void>;
  close(): Promise<void>;
};

type Message = { type: string; body: Buffer; raw: Buffer };

const appendMarker = Buffer.from('game.append_events');
const flushMessage = Buffer.from([0x48, 0, 0, 0, 4]);
const terminateMessage = Buffer.from([0x58, 0, 0, 0, 4]);
const sslRequest = 80_877_103;
const gssRequest = 80_877_104;
const protocol3 = 196_608;

/** Splits a stream into protocol messages; the frontend's first messages have no type byte. */
function framer(startsUntyped: boolean) {
  let pending: Buffer = Buffer.alloc(0);
  let untyped = startsUntyped;
  return {
    typed(): void {
      untyped = false;
    },
    push(chunk: Buffer, onMessage: (m: Message) => void): void {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      for (;;) {
        const head = untyped ? 0 : 1;
        if (pending.length < head + 4) return;
        const total = head + pending.readInt32BE(head);
        if (pending.length < total) return;
        const raw = pending.subarray(0, total);
        pending = pending.subarray(total);
        const type = untyped ? '' : String.fromCharCode(raw.readUInt8(0));
        onMessage({ type, body: raw.subarray(head + 4), raw });
      }
    },
  };
}

function bindParameters(body: Buffer): (string | null)[] {
  let at = body.indexOf(0) + 1; // portal name
  at = body.indexOf(0, at) + 1; // statement name
  at += 2 + body.readInt16BE(at) * 2; // parameter format codes (node-postgres sends text)
  const count = body.readInt16BE(at);
  at += 2;
  const values: (string | null)[] = [];
  for (let i = 0; i < count; i += 1) {
    const length = body.readInt32BE(at);
    at += 4;
    values.push(length < 0 ? null : body.toString('utf8', at, at + length));
    at += Math.max(length, 0);
  }
  return values;
}

function eventIdsOf(json: string | null | undefined): string[] {
  const parsed: unknown = JSON.parse(json ?? '[]');
  if (!Array.isArray(parsed)) return [];
  return parsed.map((e: unknown) =>
    typeof e === 'object' && e !== null && 'eventId' in e ? String(e.eventId) : '',
  );
}

function dataRow(body: Buffer): ServerAnswer {
  const columns: (string | null)[] = [];
  let at = 2;
  for (let i = 0; i < body.readInt16BE(0); i += 1) {
    const length = body.readInt32BE(at);
    at += 4;
    columns.push(length < 0 ? null : body.toString('utf8', at, at + length));
    at += Math.max(length, 0);
  }
  const first = columns[1] ?? null;
  return { kind: 'row', outcome: columns[0] ?? '', firstSequence: first === null ? null : +first };
}

function errorAnswer(body: Buffer): ServerAnswer {
  const fields = new Map<string, string>();
  for (let at = 0; at < body.length && body.readUInt8(at) !== 0;) {
    const end = body.indexOf(0, at + 1);
    fields.set(String.fromCharCode(body.readUInt8(at)), body.toString('utf8', at + 1, end));
    at = end + 1;
  }
  return { kind: 'error', code: fields.get('C') ?? '', message: fields.get('M') ?? '' };
}

type Shared = {
  options: FaultProxyOptions;
  sockets: Set<Socket>;
  cuts: Cut[];
  byFirstId: Map<string, Cut[]>;
  attempts: Map<string, number>;
  /** Release functions of the held `running` statements, per session. */
  held: Map<string, (() => void)[]>;
  problems: string[];
  seen: number;
};

function recordCut(shared: Shared, cut: Cut): void {
  shared.cuts.push(cut);
  const first = cut.eventIds[0] ?? '';
  shared.byFirstId.set(first, [...(shared.byFirstId.get(first) ?? []), cut]);
}

function releaseHeld(shared: Shared, sessionId: string): void {
  const releases = shared.held.get(sessionId) ?? [];
  shared.held.delete(sessionId);
  for (const release of releases) release();
}

type Active = { seen: SeenAppend; plan: CutPlan; answer: ServerAnswer; sync: Buffer };

/** One client connection and its server connection. */
function relay(shared: Shared, client: Socket): void {
  const server = connect(shared.options.target.port, shared.options.target.host);
  for (const socket of [client, server]) {
    shared.sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('error', () => undefined);
    socket.on('close', () => shared.sockets.delete(socket));
  }
  const settled = new Promise<void>((resolve) => server.once('close', () => resolve()));
  const fromClient = framer(true);
  const fromServer = framer(false);
  let exchange: Message[] | null = null;
  let active: Active | null = null;
  let clientCut = false;
  let holding = false;

  const cutClient = (cut: Omit<Cut, 'settled'>) => {
    recordCut(shared, { ...cut, settled });
    clientCut = true;
    client.destroy();
  };

  const onAppend = (messages: Message[]) => {
    const bind = messages.find((m) => m.type === 'B');
    const params = bind === undefined ? [] : bindParameters(bind.body);
    const eventIds = eventIdsOf(params[3]);
    const first = eventIds[0] ?? '';
    const attempt = (shared.attempts.get(first) ?? 0) + 1;
    shared.attempts.set(first, attempt);
    shared.seen += 1;
    const seen: SeenAppend = { sessionId: params[1] ?? '', eventIds, attempt };
    const plan = shared.options.decide(seen);
    if (plan?.phase === 'before') {
      cutClient({ ...seen, plan, answer: { kind: 'none' } });
      server.destroy();
      return;
    }
    const sync = messages.at(-1)?.raw ?? Buffer.alloc(0);
    const forwarded = plan?.phase === 'running' ? messages.slice(0, -1) : messages;
    for (const m of forwarded) server.write(m.raw);
    if (plan?.phase === 'running') server.write(flushMessage);
    if (plan !== null) active = { seen, plan, answer: { kind: 'none' }, sync };
    releaseHeld(shared, seen.sessionId);
  };

  const onFrontend = (m: Message) => {
    if (clientCut) return;
    if (m.type === '') {
      const code = m.body.readInt32BE(0);
      // No TLS between agate and the proxy: the proxy must read the statements.
      if (code === sslRequest || code === gssRequest) client.write('N');
      else server.write(m.raw);
      if (code === protocol3) fromClient.typed();
      return;
    }
    if (exchange !== null) {
      exchange.push(m);
      if (m.type !== 'S') return;
      const messages = exchange;
      exchange = null;
      onAppend(messages);
      return;
    }
    if (m.type === 'P' && m.body.includes(appendMarker)) {
      exchange = [m];
      return;
    }
    if (m.type === 'Q' && m.body.includes(appendMarker)) {
      shared.problems.push('an append came as a simple Query; the proxy only cuts Parse/Bind/Sync');
    }
    server.write(m.raw);
  };

  const onRunning = (m: Message, run: Active, end: 'commit' | 'rollback') => {
    if (!holding && (m.type === 'C' || m.type === 'E')) {
      holding = true;
      cutClient({ ...run.seen, plan: run.plan, answer: run.answer });
      const release = () => {
        if (end === 'commit') server.write(run.sync);
        else server.end(terminateMessage);
      };
      const list = shared.held.get(run.seen.sessionId) ?? [];
      shared.held.set(run.seen.sessionId, [...list, release]);
    } else if (holding && m.type === 'Z') {
      server.end(terminateMessage);
    }
  };

  const onBackend = (m: Message) => {
    const run = active;
    if (run === null) {
      if (!clientCut) client.write(m.raw);
      return;
    }
    if (m.type === 'D') run.answer = dataRow(m.body);
    if (m.type === 'E') run.answer = errorAnswer(m.body);
    if (run.plan.phase === 'running') onRunning(m, run, run.plan.end);
    else if (m.type === 'Z') {
      cutClient({ ...run.seen, plan: run.plan, answer: run.answer });
      server.destroy();
    }
  };

  client.on('data', (chunk: Buffer) => fromClient.push(chunk, onFrontend));
  server.on('data', (chunk: Buffer) => fromServer.push(chunk, onBackend));
  client.on('close', () => {
    if (!holding) server.destroy();
  });
  server.on('close', () => client.destroy());
}

/** Starts the proxy on 127.0.0.1 (a free port). */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const shared: Shared = {
    options,
    sockets: new Set(),
    cuts: [],
    byFirstId: new Map(),
    attempts: new Map(),
    held: new Map(),
    problems: [],
    seen: 0,
  };
  const listener = createServer((client) => relay(shared, client));
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const { port } = listener.address() as AddressInfo;
  return {
    proxied(url) {
      const proxied = new URL(url);
      proxied.hostname = '127.0.0.1';
      proxied.port = String(port);
      return proxied.toString();
    },
    cuts: () => shared.cuts,
    cutsOf: (firstEventId) => shared.byFirstId.get(firstEventId) ?? [],
    appendsSeen: () => shared.seen,
    problems: () => shared.problems,
    async settle() {
      for (const sessionId of [...shared.held.keys()]) releaseHeld(shared, sessionId);
      await Promise.all(shared.cuts.map((c) => c.settled));
    },
    async close() {
      const closed = new Promise<void>((resolve) => listener.close(() => resolve()));
      for (const socket of shared.sockets) socket.destroy();
      await closed;
    },
  };
}
