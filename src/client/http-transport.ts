/**
 * How the client sends one request and reads one whole answer. In Node the default goes over
 * node:http / node:https with one keep-alive agent per client: it costs a fraction of the CPU of
 * Node's global fetch (undici) per request, and a game server's CPU is what the client spends.
 * Elsewhere (a browser bundle) it is the global fetch; node:http is imported only on first use,
 * so agate/client loads where there is none.
 */
import type { Agent, ClientRequest, IncomingMessage, RequestOptions } from 'node:http';

export type TransportRequest = {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
};

/** A whole answer: the body was read to its end, so its connection can serve the next request. */
export type TransportAnswer = { status: number; text: string; retryAfter: string | null };

/** Rejects when no whole answer arrived (network error, cut answer), or with an abort's reason. */
export type Transport = (request: TransportRequest) => Promise<TransportAnswer>;

type Protocol = 'http:' | 'https:';
type RequestFunction = (
  url: URL,
  options: RequestOptions,
  onResponse: (response: IncomingMessage) => void,
) => ClientRequest;
type Sender = { request: RequestFunction; agent: Agent; idleTimeoutMs: number };

/** As undici's headers and body timeouts: an answer silent this long is a network error. */
const defaultIdleTimeoutMs = 300_000;

/** The given fetch (tests wrap one to drop answers), used exactly as the client always has. */
export function fetchTransport(fetchImpl: typeof fetch): Transport {
  return async (request) => {
    const response = await fetchImpl(request.url, {
      method: request.method,
      headers: request.headers,
      ...(request.body === undefined ? {} : { body: request.body }),
      ...(request.signal === undefined ? {} : { signal: request.signal }),
    });
    return {
      status: response.status,
      // Read to the end, always: only then does fetch return the connection to its keep-alive pool.
      text: await response.text(),
      retryAfter: response.headers.get('retry-after'),
    };
  };
}

/** node:http in Node, the global fetch anywhere else. */
export function defaultTransport(): Transport {
  const runtime = globalThis as { process?: { versions?: { node?: string } } };
  if (runtime.process?.versions?.node === undefined) {
    return fetchTransport((input, init) => fetch(input, init));
  }
  return nodeTransport();
}

/**
 * One keep-alive agent per protocol, made on first use. Its sockets are unbounded in number (about
 * one per concurrent call, as with fetch); a free one is unref'd by Node's agent, so idle
 * connections never keep the process alive, and it is closed a second before the server's
 * `Keep-Alive: timeout` hint so that a request is not sent on a socket the server is closing.
 * A request whose connection stays silent for `idleTimeoutMs` (default 300 s) fails.
 */
export function nodeTransport(options: { idleTimeoutMs?: number } = {}): Transport {
  const idleTimeoutMs = options.idleTimeoutMs ?? defaultIdleTimeoutMs;
  const senders = new Map<Protocol, Promise<Sender>>();
  const sender = (protocol: Protocol): Promise<Sender> => {
    let made = senders.get(protocol);
    if (made === undefined) {
      made = loadSender(protocol, idleTimeoutMs);
      senders.set(protocol, made);
    }
    return made;
  };
  return async (request) => {
    const url = new URL(request.url);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new TypeError(
        `baseUrl must be an http: or https: URL; ${url.protocol} is not supported.`,
      );
    }
    return send(await sender(url.protocol), url, request);
  };
}

async function loadSender(protocol: Protocol, idleTimeoutMs: number): Promise<Sender> {
  const module = protocol === 'http:' ? await import('node:http') : await import('node:https');
  // The agent's timeout is what lets it honour the server's Keep-Alive hint: Node closes a free
  // socket at the lower of the two, and without one it keeps it until the server closes it.
  const agent = new module.Agent({ keepAlive: true, timeout: idleTimeoutMs });
  return { request: module.request, agent, idleTimeoutMs };
}

function send(sender: Sender, url: URL, request: TransportRequest): Promise<TransportAnswer> {
  const { signal } = request;
  if (signal?.aborted === true) return Promise.reject(signal.reason as Error);
  return new Promise<TransportAnswer>((resolve, reject) => {
    const headers: Record<string, string | number> = { ...request.headers };
    if (request.body !== undefined) headers['content-length'] = Buffer.byteLength(request.body);
    let settled = false;
    const settle = (done: () => void) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      done();
    };
    const fail = (error: Error) => settle(() => reject(error));
    const outgoing = sender.request(
      url,
      { method: request.method, headers, agent: sender.agent, timeout: sender.idleTimeoutMs },
      (response) => readAnswer(response, (answer) => settle(() => resolve(answer)), fail),
    );
    function onAbort() {
      fail(signal?.reason as Error);
      outgoing.destroy();
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    outgoing.on('error', fail);
    outgoing.on('timeout', () => {
      outgoing.destroy(new Error(`the server sent nothing for ${sender.idleTimeoutMs} ms`));
    });
    outgoing.end(request.body);
  });
}

/** Resolves only with the whole body: a connection that closes mid-answer is an error. */
function readAnswer(
  response: IncomingMessage,
  resolve: (answer: TransportAnswer) => void,
  reject: (error: Error) => void,
): void {
  const chunks: string[] = [];
  response.setEncoding('utf8');
  response.on('data', (chunk: string) => chunks.push(chunk));
  response.on('error', reject);
  response.on('end', () => {
    if (!response.complete) return;
    const retryAfter = response.headers['retry-after'];
    resolve({
      status: response.statusCode ?? 0,
      text: chunks.join(''),
      retryAfter: retryAfter ?? null,
    });
  });
  response.on('close', () => {
    if (!response.complete) {
      reject(new Error('the connection closed before the whole answer arrived'));
    }
  });
}
