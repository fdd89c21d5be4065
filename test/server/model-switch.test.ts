import assert from "node:assert/strict";
import type { ProviderKind } from "../../protocol/http/providers";
import { SYSTEM_PROMPT } from "../../server/src/services/context-builder";
import { defaultOllamaModels, parseEchoText } from "../../tools/fake-providers";
import {
  chatRequests,
  createConversation,
  lastChatRequest,
  sendAndWait,
  startChatFixture,
  waitForAnswer,
  type ChatFixture,
} from "../support/chat-helpers";
import { refreshAndShowModels } from "../../tools/harness/provider-setup";
import { TINY_PNG_BASE64 } from "../support/tiny-png";

interface WireMessage {
  role: string;
  content: string;
}

/** Text of an Anthropic content field (a string or text blocks) or an OpenAI/Ollama message content. */
function flattenContent(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content))
    return content.map((block: { type: string; text?: string }) => (block.type === "text" ? block.text : `[${block.type}]`)).join("\n");
  throw new Error(`unexpected content ${JSON.stringify(content)}`);
}

/** What a provider received, in one shape: the system prompt and the conversation messages, as sent on the wire. */
function receivedConversation(
  fixture: ChatFixture,
  kind: ProviderKind,
): { system: string | undefined; messages: WireMessage[]; body: any } {
  const body = lastChatRequest(fixture.fakes, kind).body as any;
  const messages: WireMessage[] = (body.messages as Array<{ role: string; content: unknown }>).map((message) => ({
    role: message.role,
    content: flattenContent(message.content),
  }));
  if (kind === "anthropic") {
    return { system: body.system === undefined ? undefined : flattenContent(body.system), messages, body };
  }
  // Groq chat completions and Ollama /api/chat: the system prompt is the first message
  assert.equal(messages[0]?.role, "system", `${kind} got the system prompt as its first message`);
  return { system: messages[0]!.content, messages: messages.slice(1), body };
}

const ordered: Array<[ProviderKind, ProviderKind]> = [
  ["anthropic", "groq"],
  ["groq", "anthropic"],
  ["anthropic", "ollama"],
  ["ollama", "anthropic"],
  ["groq", "ollama"],
  ["ollama", "groq"],
];

describe("model switch mid-conversation: the new model sees the whole branch, in its provider's format", function () {
  let fixture: ChatFixture;

  before(async function () {
    fixture = await startChatFixture();
  });
  after(async function () {
    await fixture?.dispose();
  });

  for (const [from, to] of ordered) {
    it(`${from} → ${to}`, async function () {
      const { server, memberToken: token } = fixture;
      const fromModel = fixture.models[from][0]!;
      const toModel = fixture.models[to][0]!;
      const conversation = await createConversation(server, token);
      const firstQuestion = `First question, asked of ${from}: what is a monad?`;
      const first = await sendAndWait(server, token, conversation.id, firstQuestion, fromModel);
      assert.equal(first.answer.status, "complete");
      assert.equal(first.answer.provider, from);
      const firstAnswerText: string = first.answer.content;
      assert.ok(firstAnswerText.length > 0);

      const secondQuestion = `Second question, now for ${to}: say it more simply`;
      const second = await sendAndWait(server, token, conversation.id, secondQuestion, toModel);
      assert.equal(second.answer.status, "complete", JSON.stringify(second.answer.error));
      assert.equal(second.answer.provider, to);
      assert.equal(second.answer.modelId, toModel);

      // exactly what the receiving fake got on the wire
      const received = receivedConversation(fixture, to);
      assert.equal(received.system, SYSTEM_PROMPT);
      const expected: WireMessage[] = [
        { role: "user", content: firstQuestion },
        { role: "assistant", content: firstAnswerText },
        { role: "user", content: secondQuestion },
      ];
      assert.deepEqual(received.messages, expected);
      if (to === "anthropic") {
        assert.ok(
          !received.body.messages.some((message: { role: string }) => message.role === "system"),
          "no system message inside messages",
        );
        assert.equal(received.messages[0]!.role, "user");
      }
      assert.equal(`${to}:${received.body.model}`, toModel, "the provider's own model name");

      // and the new model's answer (an echo) states the same
      const echo = parseEchoText(second.answer.content);
      assert.equal(echo.system, SYSTEM_PROMPT);
      assert.deepEqual(
        echo.messages,
        expected.map((message) => ({ role: message.role, text: message.content })),
      );
      assert.equal(second.answer.context.firstMessageId, first.sent.userMessage.id);
      assert.equal(second.answer.context.lastMessageId, second.sent.userMessage.id);
      assert.equal(second.answer.context.includedMessageCount, 3);
      assert.equal(second.answer.context.leftOutMessageCount, 0);

      const detail = await server.request("GET", `/conversations/${conversation.id}`, { token });
      assert.equal(detail.body.conversation.modelId, toModel);
    });
  }

  it("history Anthropic would refuse (a failed empty answer between two questions) still reaches it as a valid request", async function () {
    const { server, memberToken: token, fakes } = fixture;
    const groqModel = fixture.models.groq[0]!;
    const anthropicModel = fixture.models.anthropic[0]!;
    const conversation = await createConversation(server, token);
    fakes.groq.setFaults({ fault: "unauthorized" });
    const failed = await sendAndWait(server, token, conversation.id, "First question (the answer will fail)", groqModel);
    assert.equal(failed.answer.status, "error");
    assert.equal(failed.answer.content, "");

    const second = await sendAndWait(server, token, conversation.id, "Second question", anthropicModel);
    assert.equal(second.answer.status, "complete", JSON.stringify(second.answer.error));
    const received = receivedConversation(fixture, "anthropic");
    assert.equal(received.system, SYSTEM_PROMPT);
    assert.equal(received.messages[0]!.role, "user", "Anthropic's first message is from the user");
    for (let index = 1; index < received.messages.length; index += 1) {
      assert.notEqual(received.messages[index]!.role, received.messages[index - 1]!.role, "roles alternate");
    }
    assert.ok(
      received.messages.every((message) => message.content.trim() !== ""),
      "no empty message",
    );
    const sentText = received.messages.map((message) => message.content).join("\n");
    assert.ok(sentText.includes("First question (the answer will fail)"));
    assert.ok(sentText.includes("Second question"));
    // never silent: the snapshot says what was changed
    assert.ok(second.answer.context.adjustments.length >= 2, JSON.stringify(second.answer.context.adjustments));
    assert.equal(second.answer.context.firstMessageId, failed.sent.userMessage.id);
    assert.equal(second.answer.context.lastMessageId, second.sent.userMessage.id);
  });

  it("fits a long conversation into a small window: the oldest turns summarised once, the newest kept verbatim, the record says so", async function () {
    const { server, memberToken: token, adminToken, fakes } = fixture;
    fakes.ollama.setModels([
      ...defaultOllamaModels,
      { ...defaultOllamaModels[1]!, name: "tiny-window:latest", contextLength: 1024, digest: "f".repeat(64) },
    ]);
    const ids = await refreshAndShowModels(server, "ollama", adminToken);
    const tinyModel = ids.find((id) => id.includes("tiny-window"));
    assert.ok(tinyModel, `the small model is in the catalog: ${ids.join(", ")}`);
    // every Ollama request answers this, the summariser's (the cheapest visible model: a local one) too
    fakes.ollama.setReply({ text: "Noted." });
    try {
      const conversation = await createConversation(server, token);
      const sent: Array<{ userId: string; answerId: string; content: string }> = [];
      let last: Awaited<ReturnType<typeof sendAndWait>> | undefined;
      const summariserRequests = () =>
        chatRequests(fakes, "ollama").filter((request) => (request.body as { model: string }).model !== "tiny-window:latest");
      const summarisedBefore = summariserRequests().length;
      for (let turn = 1; turn <= 4; turn += 1) {
        // ~1,000 characters ≈ 250 estimated tokens each: three of them overflow a 1,024-token window
        const content = `Turn ${turn}: ${"lorem ipsum dolor sit amet ".repeat(37)}`.slice(0, 1000);
        last = await sendAndWait(server, token, conversation.id, content, tinyModel);
        assert.equal(last.answer.status, "complete", JSON.stringify(last.answer.error));
        sent.push({ userId: last.sent.userMessage.id, answerId: last.answer.id, content });
        if (turn === 3) {
          // the third send did not fit: the two oldest exchanges were summarised first, and the stream said so
          const status = last.events.find((event) => event.event === "generation-status");
          assert.deepEqual(status?.data, { phase: "summarising", messageCount: 4 });
          assert.ok(last.events.indexOf(status!) < last.events.findIndex((event) => event.event === "text-delta"));
        }
      }
      assert.equal(summariserRequests().length - summarisedBefore, 1, "summarised once, then reused");
      const record = last!.answer.context;
      assert.equal(record.contextWindowTokens, 1024);
      assert.equal(record.summary.messageCount, 4, "the two oldest exchanges are summarised");
      assert.equal(record.leftOutMessageCount, 0);
      assert.equal(record.firstMessageId, sent[2]!.userId);
      assert.equal(record.lastMessageId, sent[3]!.userId);
      assert.equal(record.includedMessageCount, 3);
      assert.ok(record.estimatedInputTokens <= 1024 - record.reservedOutputTokens);
      assert.ok(
        record.adjustments.some((note: string) => /Summarised the 4 earlier messages/.test(note)),
        JSON.stringify(record.adjustments),
      );

      const received = receivedConversation(fixture, "ollama");
      assert.equal(received.body.model, "tiny-window:latest");
      assert.equal(received.system, `${SYSTEM_PROMPT}\n\n[Summary of the earlier conversation (4 messages, not repeated below)]\nNoted.`);
      assert.deepEqual(
        received.messages.map((message) => message.content),
        [sent[2]!.content, "Noted.", sent[3]!.content],
      );
    } finally {
      fakes.ollama.setReply("echo");
      fakes.ollama.setModels(defaultOllamaModels);
    }
  });
});

/**
 * The matrix extended for branches and system prompts (issue 10): for every ordered provider pair,
 * a conversation's own system prompt, consecutive questions after a failed answer, and a branch
 * switched back and forth reach the second provider exactly as they should, in its own form.
 */
describe("model switch matrix: system prompts, failed answers and branches, for every ordered provider pair", function () {
  let fixture: ChatFixture;

  before(async function () {
    fixture = await startChatFixture();
  });
  after(async function () {
    await fixture?.dispose();
  });
  afterEach(function () {
    fixture.fakes.reset();
  });

  for (const [from, to] of ordered) {
    it(`${from} → ${to}: the conversation's system prompt reaches each provider in its own form`, async function () {
      const { server, memberToken: token } = fixture;
      const systemPrompt = `You review ${from}-then-${to} code. Answer in one sentence.`;
      const conversation = await createConversation(server, token, { systemPrompt });
      assert.equal(conversation.systemPrompt, systemPrompt);
      const first = await sendAndWait(server, token, conversation.id, "First question", fixture.models[from][0]!);
      assert.equal(receivedConversation(fixture, from).system, systemPrompt);
      // changed mid-conversation with PATCH: the next answer (another provider) gets the new one
      const changed = `${systemPrompt} Use British spelling.`;
      const patched = await server.request("PATCH", `/conversations/${conversation.id}`, { token, body: { systemPrompt: changed } });
      assert.equal(patched.status, 200, JSON.stringify(patched.body));
      assert.equal(patched.body.conversation.systemPrompt, changed);
      const second = await sendAndWait(server, token, conversation.id, "Second question", fixture.models[to][0]!);
      const received = receivedConversation(fixture, to);
      assert.equal(received.system, changed);
      if (to === "anthropic") {
        assert.equal(typeof received.body.system === "string" || Array.isArray(received.body.system), true, "top-level system");
        assert.ok(!received.body.messages.some((message: { role: string }) => message.role === "system"));
      } else {
        assert.equal(received.body.messages[0].role, "system", "a system message first");
        assert.equal(received.body.messages.filter((message: { role: string }) => message.role === "system").length, 1);
      }
      assert.deepEqual(
        received.messages.map((message) => message.content),
        ["First question", first.answer.content, "Second question"],
      );
      // each answer names the prompt it saw; Show Context serves that exact text
      assert.notEqual(first.answer.context.systemPromptId, second.answer.context.systemPromptId);
      const shownFirst = await server.request("GET", `/messages/${first.answer.id}/context`, { token });
      assert.equal(shownFirst.body.systemPrompt, systemPrompt);
      const shownSecond = await server.request("GET", `/messages/${second.answer.id}/context`, { token });
      assert.equal(shownSecond.body.systemPrompt, changed);
      // null: back to the user's default (here the built-in one)
      await server.request("PATCH", `/conversations/${conversation.id}`, { token, body: { systemPrompt: null } });
      await sendAndWait(server, token, conversation.id, "Third question", fixture.models[from][0]!);
      assert.equal(receivedConversation(fixture, from).system, SYSTEM_PROMPT);
    });

    it(`${from} → ${to}: consecutive questions after a failed answer arrive valid (Anthropic: alternating, user first)`, async function () {
      const { server, memberToken: token, fakes } = fixture;
      const conversation = await createConversation(server, token);
      fakes[from].setFaults({ fault: "unauthorized", times: 1 });
      const failed = await sendAndWait(server, token, conversation.id, "Question whose answer fails", fixture.models[from][0]!);
      assert.equal(failed.answer.status, "error");
      const next = await sendAndWait(server, token, conversation.id, "The question asked again", fixture.models[to][0]!);
      assert.equal(next.answer.status, "complete", JSON.stringify(next.answer.error));
      const received = receivedConversation(fixture, to);
      const text = received.messages.map((message) => message.content).join("\n");
      assert.ok(text.includes("Question whose answer fails") && text.includes("The question asked again"), text);
      assert.ok(
        received.messages.every((message) => message.content.trim() !== ""),
        "no empty message",
      );
      assert.equal(received.messages.at(-1)!.role, "user");
      if (to === "anthropic") {
        assert.equal(received.messages[0]!.role, "user");
        for (let index = 1; index < received.messages.length; index += 1) {
          assert.notEqual(received.messages[index]!.role, received.messages[index - 1]!.role, "roles alternate");
        }
      }
    });

    it(`${from} → ${to}: compare: both models answer the same question at once and receive the same context`, async function () {
      const { server, memberToken: token } = fixture;
      const fromModel = fixture.models[from][0]!;
      const toModel = fixture.models[to][0]!;
      const conversation = await createConversation(server, token, { systemPrompt: "Compare prompt." });
      const first = await sendAndWait(server, token, conversation.id, "Shared history question", fromModel);
      const response = await server.request("POST", `/conversations/${conversation.id}/messages`, {
        token,
        body: { content: "Which is faster?", modelIds: [toModel, fromModel] },
      });
      assert.equal(response.status, 202, JSON.stringify(response.body));
      const answers: Array<{ id: string; modelId: string; siblings: unknown }> = response.body.assistantMessages;
      assert.deepEqual(
        answers.map((answer) => [answer.modelId, answer.siblings]),
        [
          [toModel, { position: 1, count: 2 }],
          [fromModel, { position: 2, count: 2 }],
        ],
      );
      assert.equal(response.body.assistantMessage.id, answers[0]!.id, "the branch in view goes on with the first");
      const finished = await Promise.all(answers.map((answer) => waitForAnswer(server, token, answer.id)));
      for (const { message } of finished) assert.equal(message.status, "complete", JSON.stringify(message.error));
      const expected = [
        { role: "user", content: "Shared history question" },
        { role: "assistant", content: first.answer.content },
        { role: "user", content: "Which is faster?" },
      ];
      for (const kind of new Set([from, to])) {
        const received = receivedConversation(fixture, kind);
        assert.equal(received.system, "Compare prompt.", kind);
        assert.deepEqual(received.messages, expected, kind);
      }
      // each answer records the same stretch of the branch
      for (const { message } of finished) {
        assert.equal(message.context.firstMessageId, first.sent.userMessage.id);
        assert.equal(message.context.lastMessageId, response.body.userMessage.id);
      }
      // "continue with this one": the second becomes the branch in view
      const leaf = await server.request("PUT", `/conversations/${conversation.id}/leaf`, { token, body: { messageId: answers[1]!.id } });
      assert.equal(leaf.status, 200);
      assert.equal(leaf.body.conversation.leafMessageId, answers[1]!.id);
      assert.equal(leaf.body.conversation.modelId, fromModel);
    });

    it(`${from} → ${to}: file and selection context goes with the question, to a rerun on another model too`, async function () {
      const { server, memberToken: token } = fixture;
      const conversation = await createConversation(server, token);
      const attachments = [
        { kind: "file", path: "src/sum.ts", language: "typescript", content: "export const sum = (a: number, b: number) => a + b;\n" },
        {
          kind: "selection",
          path: "src/loop.py",
          language: "python",
          startLine: 3,
          endLine: 4,
          content: "for i in range(3):\n    print(i)",
        },
      ];
      const first = await sendAndWait(server, token, conversation.id, "Review these", fixture.models[from][0]!, { attachments });
      assert.deepEqual(
        first.sent.userMessage.attachments.map((attachment: { kind: string; path: string; startLine: number | null }) => [
          attachment.kind,
          attachment.path,
          attachment.startLine,
        ]),
        [
          ["file", "src/sum.ts", null],
          ["selection", "src/loop.py", 3],
        ],
      );
      const expectedQuestion =
        "Review these\n\n[File: src/sum.ts]\n```typescript\nexport const sum = (a: number, b: number) => a + b;\n\n```\n\n" +
        "[Selection: src/loop.py, lines 3–4]\n```python\nfor i in range(3):\n    print(i)\n```";
      assert.deepEqual(receivedConversation(fixture, from).messages, [{ role: "user", content: expectedQuestion }]);
      // rerun on the other model: the same context, from the stored attachments
      const rerun = await server.request("POST", `/messages/${first.answer.id}/regenerate`, {
        token,
        body: { modelId: fixture.models[to][0] },
      });
      assert.equal(rerun.status, 202, JSON.stringify(rerun.body));
      await waitForAnswer(server, token, rerun.body.assistantMessage.id);
      assert.deepEqual(receivedConversation(fixture, to).messages, [{ role: "user", content: expectedQuestion }]);
      // Show Context lists them, as sent
      const shown = await server.request("GET", `/messages/${rerun.body.assistantMessage.id}/context`, { token });
      assert.equal(shown.body.messages[0].content, expectedQuestion);
      // the page lists them (names and sizes, not their text)
      const page = await server.request("GET", `/conversations/${conversation.id}`, { token });
      assert.equal(page.body.messages[0].attachments.length, 2);
      assert.equal(page.body.messages[0].attachments[0].content, undefined);
    });

    it(`${from} → ${to}: an image goes to a vision model as an image and to a model without vision as a note, recorded`, async function () {
      const { server, memberToken: token } = fixture;
      const listed = await server.request("GET", "/models", { token });
      const visionModel: string | undefined = listed.body.models.find(
        (model: { supportsVision: boolean | null }) => model.supportsVision === true,
      )?.id;
      assert.ok(visionModel, "a visible model that sees images (the fake Ollama's gemma3)");
      const conversation = await createConversation(server, token);
      const image = { kind: "image", path: "diagram.png", mediaType: "image/png", data: TINY_PNG_BASE64 };
      const first = await sendAndWait(server, token, conversation.id, "What does this diagram show?", fixture.models[from][0]!, {
        attachments: [image],
      });
      assert.equal(first.answer.status, "complete", JSON.stringify(first.answer.error));
      const rerun = async (modelId: string) => {
        const response = await server.request("POST", `/messages/${first.answer.id}/regenerate`, { token, body: { modelId } });
        assert.equal(response.status, 202, JSON.stringify(response.body));
        return (await waitForAnswer(server, token, response.body.assistantMessage.id)).message;
      };
      const label = `What does this diagram show?\n\n[Image: diagram.png (image/png, ${Buffer.from(TINY_PNG_BASE64, "base64").length} bytes)]`;
      const checkWithoutVision = (kind: ProviderKind, answer: { context: { adjustments: string[] } }) => {
        const sent = receivedConversation(fixture, kind);
        assert.deepEqual(sent.messages, [
          { role: "user", content: `${label}\n[The image above was not sent: this model cannot see images]` },
        ]);
        assert.ok(
          answer.context.adjustments.some((note) => note.includes("this model cannot see images")),
          JSON.stringify(answer.context.adjustments),
        );
      };
      const modelSeesImages = (modelId: string) => modelId === visionModel;
      if (!modelSeesImages(fixture.models[from][0]!)) checkWithoutVision(from, first.answer);
      const onTo = await rerun(fixture.models[to][0]!);
      assert.equal(onTo.status, "complete", JSON.stringify(onTo.error));
      if (!modelSeesImages(fixture.models[to][0]!)) checkWithoutVision(to, onTo);
      // and to the model that sees images: the image itself, in Ollama's form
      const onVision = await rerun(visionModel);
      assert.equal(onVision.status, "complete", JSON.stringify(onVision.error));
      const body = lastChatRequest(fixture.fakes, "ollama").body as any;
      const user = body.messages.find((message: { role: string }) => message.role === "user");
      assert.equal(user.content, label);
      assert.deepEqual(user.images, [TINY_PNG_BASE64]);
      assert.ok(!onVision.context.adjustments.some((note: string) => note.includes("cannot see images")));
    });

    it(`${from} → ${to}: a branch switched back and forth: only the branch in view is sent`, async function () {
      const { server, memberToken: token } = fixture;
      const fromModel = fixture.models[from][0]!;
      const conversation = await createConversation(server, token);
      const original = await sendAndWait(server, token, conversation.id, "Original question", fromModel);
      const edited = await sendAndWait(server, token, conversation.id, "Edited question", fromModel, { parentId: null });
      const setLeaf = async (messageId: string) => {
        const response = await server.request("PUT", `/conversations/${conversation.id}/leaf`, { token, body: { messageId } });
        assert.equal(response.status, 200, JSON.stringify(response.body));
      };
      // back to the original, forth to the edit, back to the original again
      await setLeaf(original.sent.userMessage.id);
      await setLeaf(edited.sent.userMessage.id);
      await setLeaf(original.sent.userMessage.id);
      await sendAndWait(server, token, conversation.id, "Follow-up on the original", fixture.models[to][0]!);
      assert.deepEqual(receivedConversation(fixture, to).messages, [
        { role: "user", content: "Original question" },
        { role: "assistant", content: original.answer.content },
        { role: "user", content: "Follow-up on the original" },
      ]);
      // and forth to the edit: only that branch
      await setLeaf(edited.sent.userMessage.id);
      await sendAndWait(server, token, conversation.id, "Follow-up on the edit", fixture.models[to][0]!);
      assert.deepEqual(receivedConversation(fixture, to).messages, [
        { role: "user", content: "Edited question" },
        { role: "assistant", content: edited.answer.content },
        { role: "user", content: "Follow-up on the edit" },
      ]);
    });
  }
});
