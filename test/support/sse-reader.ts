/** One Server-Sent Events message, or a comment line (`: keep-alive`). */
export type SseMessage =
  | { kind: 'event'; id: string | null; event: string | null; data: string }
  | { kind: 'comment'; text: string };

/**
 * The messages of a `text/event-stream` body, as a browser's EventSource would split them
 * (lines end with \n; a blank line ends a message). Ends when the body does.
 */
export async function* sseMessages(
  body: ReadableStream<Uint8Array>,
): AsyncGenerator<SseMessage, void, undefined> {
  const decoder = new TextDecoder();
  let buffered = '';
  let id: string | null = null;
  let event: string | null = null;
  let data: string[] = [];
  for await (const chunk of body) {
    buffered += decoder.decode(chunk, { stream: true });
    let newline = buffered.indexOf('\n');
    while (newline >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      newline = buffered.indexOf('\n');
      if (line === '') {
        if (data.length > 0) yield { kind: 'event', id, event, data: data.join('\n') };
        id = null;
        event = null;
        data = [];
      } else if (line.startsWith(':')) {
        yield { kind: 'comment', text: line.slice(1).trim() };
      } else {
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'id') id = value;
        else if (field === 'event') event = value;
        else if (field === 'data') data.push(value);
      }
    }
  }
}
