/**
 * The `echo` reply: an answer that states exactly what the fake received, so tests can assert that
 * a conversation (system prompt, every turn, in order) reached the provider intact.
 *
 * Format (one header line, then one line per message; text values are JSON strings so that
 * multi-line content stays on one line and the text round-trips exactly):
 *
 *   ECHO model=<model> system=<JSON string, or none> messages=<count>
 *   <role>: <JSON string of the message text>
 *
 * Message text is flattened: text parts joined with "\n", images as "[image]", any other part as
 * "[<type>]". For Groq and Ollama, system messages at the start of `messages` are lifted into
 * `system=` (joined with "\n") so that one conversation echoes identically on all three providers;
 * a system message later in the list stays in place as a `system:` line.
 */

export interface EchoMessage {
  role: string;
  text: string;
}

export interface EchoInput {
  model: string;
  system: string | undefined;
  messages: EchoMessage[];
}

const headerPattern = /^ECHO model=(\S*) system=(none|".*") messages=(\d+)$/;
const messagePattern = /^([^:]+): (".*")$/;

export function buildEchoText(input: EchoInput): string {
  const system = input.system === undefined ? "none" : JSON.stringify(input.system);
  const header = `ECHO model=${input.model} system=${system} messages=${input.messages.length}`;
  const lines = input.messages.map((message) => `${message.role}: ${JSON.stringify(message.text)}`);
  return [header, ...lines].join("\n");
}

/** Inverse of `buildEchoText`; throws when the text is not an echo (e.g. it was cut short). */
export function parseEchoText(text: string): EchoInput {
  const [header, ...lines] = text.split("\n");
  const headerMatch = headerPattern.exec(header ?? "");
  if (!headerMatch) throw new Error(`Not an echo reply: ${JSON.stringify(text.slice(0, 80))}`);
  const messages = lines.map((line) => {
    const match = messagePattern.exec(line);
    if (!match) throw new Error(`Not an echo message line: ${JSON.stringify(line)}`);
    return { role: match[1], text: JSON.parse(match[2]) as string };
  });
  const expectedCount = Number(headerMatch[3]);
  if (messages.length !== expectedCount) {
    throw new Error(`Echo announces ${expectedCount} messages but has ${messages.length}`);
  }
  return {
    model: headerMatch[1],
    system: headerMatch[2] === "none" ? undefined : (JSON.parse(headerMatch[2]) as string),
    messages,
  };
}

/** Flattens OpenAI-style content parts or Anthropic content blocks into echo text. */
export function flattenContentParts(parts: readonly unknown[]): string {
  return parts
    .map((part) => {
      if (!isRecord(part)) return "[unknown]";
      if (part.type === "text" && typeof part.text === "string") return part.text;
      if (part.type === "image" || part.type === "image_url") return "[image]";
      return `[${typeof part.type === "string" ? part.type : "unknown"}]`;
    })
    .join("\n");
}

/** Lifts the system messages at the start of an OpenAI/Ollama-style list into one system text. */
export function liftLeadingSystemMessages(messages: readonly EchoMessage[]): {
  system: string | undefined;
  messages: EchoMessage[];
} {
  let firstOther = messages.findIndex((message) => message.role !== "system");
  if (firstOther === -1) firstOther = messages.length;
  const leading = messages.slice(0, firstOther);
  return {
    system: leading.length === 0 ? undefined : leading.map((message) => message.text).join("\n"),
    messages: messages.slice(firstOther),
  };
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
