import type { Message } from "../../../protocol/http/conversations";
import type { ChatSnapshot } from "../../../protocol/webview/chat-protocol";

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
