import assert from "node:assert/strict";
import { UsageViewHandlers, type UsageHostMessage } from "../../extension/src/usage/usage-view-handlers";
import type { TeamServerClient } from "../../extension/src/server-client/team-server-client";
import { startExtensionTestEnvironment, type ExtensionTestEnvironment } from "./extension-test-environment";

/** The usage panel's host side over a real server, played as the webview would: requests by id, answers collected. */
function openPanel(client: TeamServerClient, saved: Array<{ name: string; content: string }> = []) {
  const posted: UsageHostMessage[] = [];
  const handlers = new UsageViewHandlers(client, (message) => posted.push(message), {
    saveCsv: async (name, content) => {
      saved.push({ name, content });
      return name;
    },
  });
  let nextId = 1;
  const request = async (method: string, params: unknown) => {
    const id = nextId++;
    await handlers.handleMessage({ kind: "request", id, method, params });
    const response = posted.find((message) => message.kind === "response" && message.id === id);
    assert.ok(response && response.kind === "response");
    return response;
  };
  return { handlers, posted, request, saved };
}

describe("extension: the usage panel's host side", function () {
  this.timeout(60_000);
  let environment: ExtensionTestEnvironment;

  before(async () => {
    environment = await startExtensionTestEnvironment();
  });

  after(async () => {
    await environment?.dispose();
  });

  async function answerOnce(client: TeamServerClient, modelId: string): Promise<void> {
    const { conversation } = await client.call("createConversation", { body: { modelId } });
    const sent = await client.call("sendMessage", { params: { conversationId: conversation.id }, body: { content: "Hi", modelId } });
    for await (const event of client.streamGeneration(sent.assistantMessage.id)) void event;
  }

  it("answers a member with their own figures only, by period and group", async () => {
    const member = await environment.signedInClient("usage-member");
    const other = await environment.signedInClient("usage-other");
    await answerOnce(member, environment.models.groq[0]!);
    await answerOnce(other, environment.models.anthropic[0]!);
    const panel = openPanel(member);

    const viewer = await panel.request("viewer/get", {});
    assert.deepEqual(viewer.ok && viewer.result, { userName: "usage-member", isAdmin: false, users: [] });

    const today = new Date().toISOString().slice(0, 10);
    // The ledger row lands moments after the answer's end.
    let result: { rows: Array<{ modelId?: string; period?: string; answers: number }> } | undefined;
    for (let attempt = 0; attempt < 100; attempt += 1) {
      const response = await panel.request("usage/query", { from: today, to: today, groupBy: ["day", "model"] });
      assert.ok(response.ok, JSON.stringify(response));
      result = response.result as typeof result;
      if (result!.rows.length > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.deepEqual(
      result!.rows.map((row) => [row.period, row.modelId, row.answers]),
      [[today, environment.models.groq[0], 1]],
      "the other member's answer is not there",
    );

    // Another's figures: the server's 403 reaches the panel as an error, nothing else.
    const forbidden = await panel.request("usage/query", { from: today, to: today, groupBy: ["model"], userId: other.user!.id });
    assert.equal(forbidden.ok, false);
    assert.equal(!forbidden.ok && forbidden.error.code, "forbidden");
  });

  it("gives an admin the accounts to choose from and everyone's figures by user", async () => {
    const admin = await environment.signedInClient("admin");
    const panel = openPanel(admin);
    const viewer = await panel.request("viewer/get", {});
    assert.ok(viewer.ok);
    const result = viewer.result as { isAdmin: boolean; users: Array<{ name: string }> };
    assert.equal(result.isAdmin, true);
    assert.ok(result.users.some((user) => user.name === "usage-member"));
    const today = new Date().toISOString().slice(0, 10);
    const byUser = await panel.request("usage/query", { from: today, to: today, groupBy: ["user"] });
    assert.ok(byUser.ok);
    const names = (byUser.result as { rows: Array<{ userName: string }> }).rows.map((row) => row.userName);
    assert.ok(names.includes("usage-member") && names.includes("usage-other"), names.join());
  });

  it("refuses bad params before the server, and writes the CSV through the host", async () => {
    const member = await environment.signedInClient("usage-member");
    const panel = openPanel(member);
    const bad = await panel.request("usage/query", { from: "yesterday", to: "2026-12-07", groupBy: [] });
    assert.equal(!bad.ok && bad.error.code, "validation_failed");
    const twoBuckets = await panel.request("usage/query", { from: "2026-12-01", to: "2026-12-07", groupBy: ["day", "week"] });
    assert.equal(!twoBuckets.ok && twoBuckets.error.code, "validation_failed", "the server's rule: one time bucket at most");
    const badName = await panel.request("csv/save", { suggestedFileName: "../../etc/passwd.csv", content: "x" });
    assert.equal(!badName.ok && badName.error.code, "validation_failed");
    const saved = await panel.request("csv/save", { suggestedFileName: "juggler-usage.csv", content: "period,model\r\n" });
    assert.deepEqual(saved.ok && saved.result, { saved: true, fileName: "juggler-usage.csv" });
    assert.deepEqual(panel.saved, [{ name: "juggler-usage.csv", content: "period,model\r\n" }]);
  });
});
