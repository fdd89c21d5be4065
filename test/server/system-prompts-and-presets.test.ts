import assert from "node:assert/strict";
import {
  defaultSystemPromptResponseSchema,
  presetListResponseSchema,
  presetResponseSchema,
  SYSTEM_PROMPT_MAX_CHARACTERS,
} from "../../protocol/http/prompts";
import { SYSTEM_PROMPT } from "../../server/src/services/context-builder";
import { registerUser } from "../../tools/harness/test-server";
import { createConversation, lastChatRequest, sendAndWait, startChatFixture, type ChatFixture } from "../support/chat-helpers";
import { createTestDatabase } from "../support/postgres";

/**
 * System prompts and presets: a user's default prompt (used by conversations without their own),
 * a conversation's own prompt, and the team's presets (admins write them, members start
 * conversations from them: prompt, model, temperature and output limit reach the provider).
 */
for (const backend of ["SQLite", "PostgreSQL"] as const) {
  describe(`system prompts and presets on ${backend}`, function () {
    this.timeout(120_000);
    let fixture: ChatFixture;
    let otherToken: string;

    before(async function () {
      fixture = await startChatFixture({
        server: backend === "PostgreSQL" ? { environment: { DATABASE_URL: await createTestDatabase() } } : {},
      });
      otherToken = (await registerUser(fixture.server, "eve")).accessToken;
    });
    after(async function () {
      await fixture?.dispose();
    });

    it("a user's default prompt is used by conversations without their own, and only by that user's", async function () {
      const { server, memberToken: token, models } = fixture;
      const initial = defaultSystemPromptResponseSchema.parse((await server.request("GET", "/me/system-prompt", { token })).body);
      assert.deepEqual(initial, { systemPrompt: null, builtInSystemPrompt: SYSTEM_PROMPT });
      const mine = "Always answer as a terse senior engineer.";
      const set = await server.request("PUT", "/me/system-prompt", { token, body: { systemPrompt: `  ${mine}  ` } });
      assert.equal(set.status, 200, JSON.stringify(set.body));
      assert.equal(set.body.systemPrompt, mine);

      const groq = models.groq[0]!;
      const conversation = await createConversation(server, token);
      await sendAndWait(server, token, conversation.id, "Hello", groq);
      assert.equal((lastChatRequest(fixture.fakes, "groq").body as any).messages[0].content, mine);
      // another user keeps the built-in one
      const theirs = await createConversation(server, otherToken);
      await sendAndWait(server, otherToken, theirs.id, "Hello", groq);
      assert.equal((lastChatRequest(fixture.fakes, "groq").body as any).messages[0].content, SYSTEM_PROMPT);
      // back to the built-in one
      await server.request("PUT", "/me/system-prompt", { token, body: { systemPrompt: null } });
      await sendAndWait(server, token, conversation.id, "Hello again", groq);
      assert.equal((lastChatRequest(fixture.fakes, "groq").body as any).messages[0].content, SYSTEM_PROMPT);
    });

    it("presets: admins create, change and delete them; members list them and start conversations from them", async function () {
      const { server, adminToken, memberToken: token, models } = fixture;
      const anthropic = models.anthropic[0]!;
      const created = await server.request("POST", "/admin/presets", {
        token: adminToken,
        body: {
          name: "Code reviewer",
          systemPrompt: "Review the code for bugs first.",
          modelId: anthropic,
          temperature: 0.2,
          maxOutputTokens: 300,
        },
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const preset = presetResponseSchema.parse(created.body).preset;
      assert.equal(preset.systemPrompt, "Review the code for bugs first.");

      const asMember = await server.request("POST", "/admin/presets", { token, body: { name: "Mine" } });
      assert.equal(asMember.status, 403);
      const listed = presetListResponseSchema.parse((await server.request("GET", "/presets", { token })).body);
      assert.deepEqual(
        listed.presets.map((entry) => entry.name),
        ["Code reviewer"],
      );

      // a conversation from the preset: its prompt, model, temperature and output limit reach the provider
      const conversation = await createConversation(server, token, { presetId: preset.id });
      assert.equal(conversation.modelId, anthropic);
      assert.equal(conversation.systemPrompt, "Review the code for bugs first.");
      assert.equal(conversation.temperature, 0.2);
      assert.equal(conversation.maxOutputTokens, 300);
      const { answer } = await sendAndWait(server, token, conversation.id, "Look at this loop", anthropic);
      const body = lastChatRequest(fixture.fakes, "anthropic").body as any;
      assert.equal(typeof body.system === "string" ? body.system : body.system[0].text, "Review the code for bugs first.");
      assert.equal(body.temperature, 0.2);
      assert.equal(body.max_tokens, 300);
      assert.deepEqual(answer.context.settings, { maxOutputTokens: 300, temperature: 0.2 });

      // changing the preset does not change conversations started from it
      const renamed = await server.request("PATCH", `/admin/presets/${preset.id}`, {
        token: adminToken,
        body: { name: "Strict reviewer", systemPrompt: "Be strict." },
      });
      assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
      assert.equal(renamed.body.preset.systemPrompt, "Be strict.");
      const again = await server.request("GET", `/conversations/${conversation.id}`, { token });
      assert.equal(again.body.conversation.systemPrompt, "Review the code for bugs first.");

      const duplicate = await server.request("POST", "/admin/presets", { token: adminToken, body: { name: "strict REVIEWER" } });
      assert.equal(duplicate.status, 409);
      assert.equal((await server.request("DELETE", `/admin/presets/${preset.id}`, { token })).status, 403);
      assert.equal((await server.request("DELETE", `/admin/presets/${preset.id}`, { token: adminToken })).status, 204);
      assert.equal((await server.request("DELETE", `/admin/presets/${preset.id}`, { token: adminToken })).status, 404);
      const gone = await server.request("POST", "/conversations", { token, body: { presetId: preset.id } });
      assert.equal(gone.status, 404);
    });

    it("refuses bad prompts and settings with a clear 4xx and stores nothing; another user's conversation is a 404", async function () {
      const { server, adminToken, memberToken: token, models } = fixture;
      const conversation = await createConversation(server, token);
      const cases: Array<[string, Record<string, unknown>, number, string]> = [
        ["empty prompt", { systemPrompt: "   " }, 400, "validation_failed"],
        ["too long", { systemPrompt: "x".repeat(SYSTEM_PROMPT_MAX_CHARACTERS + 1) }, 413, "payload_too_large"],
        ["temperature out of range", { temperature: 5 }, 400, "validation_failed"],
        ["output limit not a whole number", { maxOutputTokens: 1.5 }, 400, "validation_failed"],
        ["prompt not a string", { systemPrompt: 42 }, 400, "validation_failed"],
      ];
      for (const [what, body, status, code] of cases) {
        const response = await server.request("PATCH", `/conversations/${conversation.id}`, { token, body });
        assert.equal(response.status, status, what);
        assert.equal(response.body.error.code, code, what);
      }
      const detail = await server.request("GET", `/conversations/${conversation.id}`, { token });
      assert.equal(detail.body.conversation.systemPrompt, null, "nothing stored");

      const foreign = await server.request("PATCH", `/conversations/${conversation.id}`, {
        token: otherToken,
        body: { systemPrompt: "Mine now" },
      });
      assert.equal(foreign.status, 404);
      const unknownModel = await server.request("POST", "/admin/presets", {
        token: adminToken,
        body: { name: "Ghost", modelId: "groq:not-a-model" },
      });
      assert.equal(unknownModel.status, 400);
      assert.equal(unknownModel.body.error.code, "model_unavailable");
      const noName = await server.request("POST", "/admin/presets", { token: adminToken, body: { name: " ", modelId: models.groq[0] } });
      assert.equal(noName.status, 400);
      const listed = presetListResponseSchema.parse((await server.request("GET", "/presets", { token })).body);
      assert.ok(!listed.presets.some((preset) => preset.name === "Ghost"), "nothing stored");
    });
  });
}
