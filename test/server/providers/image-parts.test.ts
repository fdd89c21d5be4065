import assert from "node:assert/strict";
import type { ProviderKind } from "../../../protocol/http/providers";
import type { ChatTurn } from "../../../server/src/providers/chat-provider";
import { createChatProvider } from "../../../server/src/providers/create-chat-provider";
import { startFakeProviders, type FakeProviders } from "../../../tools/fake-providers";
import { TINY_PNG_BASE64 } from "../../support/tiny-png";

const chatPaths: Record<ProviderKind, string> = { anthropic: "/v1/messages", groq: "/openai/v1/chat/completions", ollama: "/api/chat" };
const models: Record<ProviderKind, string> = {
  anthropic: "claude-haiku-4-5-20251001",
  groq: "llama-3.3-70b-versatile",
  ollama: "gemma3:latest",
};
const keys: Record<ProviderKind, string | undefined> = { anthropic: "fake-anthropic-key", groq: "fake-groq-key", ollama: undefined };

/** An image part reaches each provider in its own format (real SDKs, the fakes' recorded wire bodies). */
describe("provider adapters: image parts on the wire", function () {
  let fakes: FakeProviders;
  before(async function () {
    fakes = await startFakeProviders();
  });
  after(async function () {
    await fakes?.close();
  });

  const turn: ChatTurn = {
    role: "user",
    content: "What is in this picture?",
    parts: [
      { type: "text", text: "What is in this picture?" },
      { type: "image", mediaType: "image/png", data: TINY_PNG_BASE64 },
    ],
    messageIds: ["m1"],
  };

  for (const kind of ["anthropic", "groq", "ollama"] as const) {
    it(`${kind}: the image goes in ${kind}'s own form, after the text`, async function () {
      const provider = createChatProvider(kind, { baseUrl: fakes[kind].url, apiKey: keys[kind], connectTimeoutMs: 5_000 });
      const conversation = provider.prepareConversation("System.", [turn]);
      const events = provider.streamChat({ model: models[kind], conversation, maxOutputTokens: 100, signal: new AbortController().signal });
      let text = "";
      for await (const event of events) if (event.type === "text-delta") text += event.text;
      assert.match(text, /\[image\]/, "the fake saw an image");
      const body = fakes[kind].requests.filter((request) => request.path === chatPaths[kind]).at(-1)!.body as any;
      const user = body.messages.find((message: { role: string }) => message.role === "user");
      if (kind === "anthropic") {
        assert.deepEqual(user.content, [
          { type: "text", text: "What is in this picture?" },
          { type: "image", source: { type: "base64", media_type: "image/png", data: TINY_PNG_BASE64 } },
        ]);
      } else if (kind === "groq") {
        assert.deepEqual(user.content, [
          { type: "text", text: "What is in this picture?" },
          { type: "image_url", image_url: { url: `data:image/png;base64,${TINY_PNG_BASE64}` } },
        ]);
      } else {
        assert.equal(user.content, "What is in this picture?");
        assert.deepEqual(user.images, [TINY_PNG_BASE64]);
      }
    });
  }
});
