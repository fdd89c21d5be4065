import type { ContextRecord, Message } from "../../protocol/http/conversations";
import type { ChatSnapshot } from "../../protocol/webview/chat-protocol";

/** Test-data builders with valid defaults: override only what a test is about. */

const CONVERSATION_ID = "conversation-1";
const CREATED_AT = "2026-11-20T09:30:00.000Z";

export function buildMessage(overrides: Partial<Message> & Pick<Message, "id">): Message {
  const role = overrides.role ?? "assistant";
  return {
    conversationId: CONVERSATION_ID,
    parentId: null,
    role,
    content: "",
    status: "complete",
    provider: role === "assistant" ? "anthropic" : null,
    modelId: role === "assistant" ? "anthropic:claude-sonnet-4-5" : null,
    inputTokens: null,
    outputTokens: null,
    timeToFirstTokenMs: null,
    durationMs: null,
    finishReason: role === "assistant" ? "stop" : null,
    finishReasonRaw: role === "assistant" ? "end_turn" : null,
    error: null,
    context: null,
    createdAt: CREATED_AT,
    updatedAt: CREATED_AT,
    ...overrides,
  };
}

export function buildSnapshot(overrides: Partial<ChatSnapshot> = {}): ChatSnapshot {
  return {
    connection: "ready",
    userName: "ada",
    conversation: { id: CONVERSATION_ID, title: "Debounce a search box", modelId: "anthropic:claude-sonnet-4-5" },
    messages: [],
    olderCursor: null,
    branchMessageCount: overrides.messages?.length ?? 0,
    activeModel: { id: "anthropic:claude-sonnet-4-5", label: "claude-sonnet-4-5", provider: "anthropic", contextWindow: 200_000 },
    banner: null,
    ...overrides,
  };
}

/** What an answer's request carried (v2 record): the defaults say nothing was summarised or left out. */
export function buildContextRecord(overrides: Partial<ContextRecord> = {}): ContextRecord {
  return {
    version: 2,
    modelId: "anthropic:claude-sonnet-4-5",
    provider: "anthropic",
    contextWindowTokens: 200_000,
    reservedOutputTokens: 4096,
    systemPromptId: "juggler-default-v1",
    firstMessageId: "user-0",
    lastMessageId: "user-0",
    includedMessageCount: 1,
    summary: null,
    leftOutMessageCount: 0,
    adjustments: [],
    settings: { maxOutputTokens: 4096, temperature: null },
    estimatedInputTokens: 1200,
    ...overrides,
  };
}

/**
 * The newest `pageSize` messages of a branch as a snapshot carries them. The cursor names the first
 * message of the page ("before:<id>"), which is what the harness's `serveOlderPages` reads.
 */
export function buildPagedSnapshot(branch: readonly Message[], pageSize: number, overrides: Partial<ChatSnapshot> = {}): ChatSnapshot {
  const start = Math.max(0, branch.length - pageSize);
  return buildSnapshot({
    messages: branch.slice(start),
    olderCursor: start > 0 ? `before:${branch[start]!.id}` : null,
    branchMessageCount: branch.length,
    ...overrides,
  });
}

/**
 * Answers of different shapes and lengths, as a long real conversation has: short replies, long
 * paragraphs, lists and code blocks (their estimated heights are wrong in different ways).
 */
export function variedAnswer(index: number): string {
  if (index % 9 === 0) {
    const lines = Array.from({ length: 3 + (index % 5) }, (_, line) => `    total += values[${line}] * ${index};`);
    return `Here is the loop for case ${index}:\n\n\`\`\`ts\nfunction sum${index}(values: number[]): number {\n    let total = 0;\n${lines.join("\n")}\n    return total;\n}\n\`\`\``;
  }
  if (index % 5 === 0)
    return `Three things for ${index}:\n\n- check the **input**\n- run the tests\n- read the [guide](https://example.com/guide/${index})`;
  if (index % 3 === 0) {
    return `Answer ${index}: ${"The context of a request is the branch from the root to this message, fitted to the model's window. ".repeat(1 + (index % 4))}`;
  }
  return `Answer number ${index}.`;
}

/** A user question and its answer, chained by parent ids: `count` pairs → 2 × count messages. */
export function buildConversation(
  count: number,
  answerContent: (index: number) => string = (index) => `Answer number ${index}.`,
): Message[] {
  const messages: Message[] = [];
  let parentId: string | null = null;
  for (let index = 0; index < count; index++) {
    const question = buildMessage({ id: `user-${index}`, role: "user", parentId, content: `Question number ${index}?` });
    const answer = buildMessage({
      id: `answer-${index}`,
      parentId: question.id,
      content: answerContent(index),
      inputTokens: 100 + index,
      outputTokens: 50 + index,
      timeToFirstTokenMs: 300,
    });
    messages.push(question, answer);
    parentId = answer.id;
  }
  return messages;
}

export const SAMPLE_CODE = `export function debounce<Args extends unknown[]>(run: (...args: Args) => void, delayMs: number) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return (...args: Args): void => {
    clearTimeout(timer);
    timer = setTimeout(() => run(...args), delayMs); // waits for a pause
  };
}`;

/** The conversation of the screenshot: a question, an answer with a code block, a follow-up. */
export function buildSampleConversation(): Message[] {
  return [
    buildMessage({
      id: "user-1",
      role: "user",
      content: "How do I debounce the search box in `SearchPanel.tsx` so it doesn't query on every keystroke?",
    }),
    buildMessage({
      id: "answer-1",
      parentId: "user-1",
      content: [
        "Wrap the handler in a small **debounce** helper: it waits until typing pauses, then runs once.",
        "",
        "```ts",
        SAMPLE_CODE,
        "```",
        "",
        "Then in the component:",
        "",
        "1. Create the debounced function once with `useMemo`, so it survives re-renders.",
        "2. Call it from `onChange`; **300 ms** is a good starting delay.",
        "",
        "See [MDN on setTimeout](https://developer.mozilla.org/docs/Web/API/setTimeout) for the timer details.",
      ].join("\n"),
      inputTokens: 1234,
      outputTokens: 567,
      timeToFirstTokenMs: 320,
      durationMs: 4100,
      context: buildContextRecord({ firstMessageId: "user-1", lastMessageId: "user-1" }),
    }),
    buildMessage({
      id: "user-2",
      role: "user",
      parentId: "answer-1",
      content: "Can you do it with a Python version too?",
    }),
    buildMessage({
      id: "answer-2",
      parentId: "user-2",
      provider: "groq",
      modelId: "groq:llama-3.3-70b-versatile",
      status: "streaming",
      content:
        "Sure — the same idea with `threading.Timer`:\n\n```python\nimport threading\n\ndef debounce(delay_seconds):\n    def decorator(function):\n        timer = None\n",
      finishReason: null,
      finishReasonRaw: null,
    }),
  ];
}
