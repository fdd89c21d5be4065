/** One dispatched server-sent event (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation). */
export interface ServerSentEvent {
  /** "message" when the event had no `event:` field. */
  event: string;
  data: string;
  /** The last event id seen so far (ids persist across events, as in the spec); undefined if none yet. */
  id: string | undefined;
}

/**
 * Incremental parser of the text/event-stream format. Feed decoded text in chunks of any size;
 * it handles CRLF, LF and CR line ends (also a CRLF split between two chunks), multi-line `data:`,
 * comment lines (`: heartbeat`), a leading byte-order mark, and ignores unknown fields.
 */
export class ServerSentEventParser {
  private buffer = "";
  private isAfterCarriageReturn = false;
  private isAtStreamStart = true;
  private eventName = "";
  private dataLines: string[] = [];
  private hasData = false;
  private lastEventId: string | undefined;
  /** Milliseconds the server asked to wait before reconnecting (`retry:` field), if it did. */
  reconnectDelayMs: number | undefined;

  constructor(initialLastEventId?: string) {
    this.lastEventId = initialLastEventId;
  }

  /** Parses the text and returns the events it completed. */
  push(text: string): ServerSentEvent[] {
    if (this.isAtStreamStart && text.length > 0) {
      this.isAtStreamStart = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    const events: ServerSentEvent[] = [];
    let lineStart = 0;
    let index = 0;
    // A CR at the end of the previous chunk already ended its line; a LF right after it belongs to that CRLF.
    if (this.isAfterCarriageReturn && text.startsWith("\n")) {
      lineStart = 1;
      index = 1;
    }
    this.isAfterCarriageReturn = false;
    for (; index < text.length; index++) {
      const character = text.charCodeAt(index);
      if (character !== 0x0a && character !== 0x0d) continue;
      const line = this.buffer + text.slice(lineStart, index);
      this.buffer = "";
      this.processLine(line, events);
      if (character === 0x0d) {
        if (index + 1 < text.length) {
          if (text.charCodeAt(index + 1) === 0x0a) index++;
        } else {
          this.isAfterCarriageReturn = true;
        }
      }
      lineStart = index + 1;
    }
    this.buffer += text.slice(lineStart);
    return events;
  }

  private processLine(line: string, events: ServerSentEvent[]): void {
    if (line === "") {
      this.dispatch(events);
      return;
    }
    if (line.startsWith(":")) return; // a comment, e.g. a heartbeat that keeps proxies from closing the connection
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    switch (field) {
      case "event":
        this.eventName = value;
        break;
      case "data":
        this.dataLines.push(value);
        this.hasData = true;
        break;
      case "id":
        // The spec ignores ids containing NUL.
        if (!value.includes("\0")) this.lastEventId = value;
        break;
      case "retry":
        if (/^\d+$/.test(value)) this.reconnectDelayMs = Number(value);
        break;
      default:
        break;
    }
  }

  private dispatch(events: ServerSentEvent[]): void {
    if (this.hasData) {
      events.push({ event: this.eventName || "message", data: this.dataLines.join("\n"), id: this.lastEventId });
    }
    this.eventName = "";
    this.dataLines = [];
    this.hasData = false;
  }
}
