/**
 * A measuring extension for the extension benchmark (bench/extension-bench.ts), installed beside
 * Juggler in code-server and never shipped. It takes Juggler's exported API and records, in the
 * extension host, when the chat session starts and finishes the steps the benchmark times: a send
 * (webview request received, the send's reply, the first text delta) and opening a conversation
 * (started, snapshot posted). Each record is one JSON line `{ event, atMs, …}` with `atMs` on the
 * wall clock (performance.timeOrigin + performance.now()), the clock the webview's timestamps use
 * too, appended to the file named by JUGGLER_TIMING_PROBE_FILE. Without that variable it does nothing.
 */
import * as fs from "node:fs";
import * as vscode from "vscode";
import type { JugglerExtensionApi } from "../../extension/src/extension";
import type { GenerationEvent } from "../../protocol/http/generation-events";
import { TIMING_PROBE_FILE_VARIABLE, type TimingProbeRecord } from "./timing-probe-record";

export async function activate(): Promise<void> {
  const file = process.env[TIMING_PROBE_FILE_VARIABLE];
  if (!file) return;
  const extension = vscode.extensions.getExtension<JugglerExtensionApi>("juggler.juggler");
  if (!extension) throw new Error("The timing probe needs the Juggler extension");
  const api = extension.isActive ? extension.exports : await extension.activate();
  const record = (event: TimingProbeRecord["event"], fields: Omit<Partial<TimingProbeRecord>, "event" | "atMs"> = {}) => {
    fs.appendFileSync(file, `${JSON.stringify({ event, atMs: performance.timeOrigin + performance.now(), ...fields })}\n`);
  };
  record("probe-ready");

  // The session calls its own methods through `this`, so an instance property set here is what runs.
  const session = api.session;
  const sendMessage = session.sendMessage.bind(session);
  session.sendMessage = async (content) => {
    record("send-start", { content });
    const result = await sendMessage(content);
    record("send-accepted", { assistantMessageId: result.assistantMessageId });
    return result;
  };
  const openConversation = session.openConversation.bind(session);
  session.openConversation = async (conversationId) => {
    record("open-start", { conversationId });
    const snapshot = await openConversation(conversationId);
    record("open-posted", { conversationId, messageCount: snapshot.messages.length });
    return snapshot;
  };

  // An answer's events come from the reply of the send that started it, or from its own stream (a compare, a reload).
  const withFirstDeltaRecorded = async function* (messageId: string, events: AsyncGenerator<GenerationEvent, void, undefined>) {
    let isFirstText = true;
    for await (const event of events) {
      if (isFirstText && event.event === "text-delta") {
        isFirstText = false;
        record("first-delta", { messageId });
      }
      yield event;
    }
  };
  const client = api.client;
  const streamGeneration = client.streamGeneration.bind(client);
  client.streamGeneration = (messageId, options) => withFirstDeltaRecorded(messageId, streamGeneration(messageId, options));
  const startAnswer = client.startAnswer.bind(client);
  client.startAnswer = (async (...parameters: Parameters<typeof startAnswer>) => {
    const started = await startAnswer(...parameters);
    const { answer } = started;
    if (answer === undefined) return started;
    return {
      ...started,
      answer: { ...answer, events: (signal?: AbortSignal) => withFirstDeltaRecorded(answer.messageId, answer.events(signal)) },
    };
  }) as typeof client.startAnswer;
}

export function deactivate(): void {}
