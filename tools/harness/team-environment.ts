/**
 * The back end both real-VS-Code suites talk to: the real team server (SQLite in a temp folder)
 * and the fake Anthropic, Groq and Ollama servers in `echo` mode, all in the mocha process. The
 * extension under test reaches them over HTTP, like a member's VS Code reaches a team's server.
 */
import crypto from "node:crypto";
import { estimateMessageTokens } from "../../server/src/services/token-estimate";
import { startFakeProviders, type FakeProviders } from "../fake-providers/index";
import { configureFakeProviders, type VisibleModelIds } from "./provider-setup";
import { registerUser, startTestServer, type TestServer } from "./test-server";

export const ADMIN_NAME = "ada";
export const ADMIN_PASSWORD = "correct horse battery";

export interface TeamEnvironment {
  server: TestServer;
  fakes: FakeProviders;
  /** Set when `withAdmin`: the admin's session and the models it made visible. */
  admin?: { accessToken: string; models: VisibleModelIds };
  dispose(): Promise<void>;
}

/**
 * `withAdmin`: registers the first account (it becomes admin) and configures every fake provider
 * through the admin API, so tests start with visible models. Without it the server is fresh: the
 * first account a test creates becomes admin (the journey does that through the UI).
 */
export async function startTeamEnvironment(options: { withAdmin: boolean }): Promise<TeamEnvironment> {
  const fakes = await startFakeProviders();
  let server: TestServer | undefined;
  try {
    // Sign-ins through the UI and reloads must not hit the production rate limit.
    server = await startTestServer({ environment: { AUTH_RATE_LIMIT_PER_MINUTE: "10000" } });
    let admin: TeamEnvironment["admin"];
    if (options.withAdmin) {
      const session = await registerUser(server, ADMIN_NAME, ADMIN_PASSWORD);
      const models = await configureFakeProviders(server, fakes, session.accessToken);
      admin = { accessToken: session.accessToken, models };
    }
    const started = server;
    return {
      server: started,
      fakes,
      admin,
      dispose: async () => {
        // The fakes first: close() ends open streams, so the server's shutdown never waits on one.
        await fakes.close();
        await started.dispose();
      },
    };
  } catch (error) {
    await fakes.close();
    await server?.dispose();
    throw error;
  }
}

export interface SeededConversation {
  conversationId: string;
  /** The branch root → leaf: user and assistant messages alternating, the last one an answer. */
  messageIds: string[];
}

/** Rows per INSERT: well under SQLite's limit of bound variables per statement. */
const SEED_BATCH_ROWS = 400;

/**
 * Writes a conversation of `messageCount` messages (an even number) straight through the server's
 * storage (its Knex database, one transaction), as if the user had chatted that long: sending
 * thousands of messages through the API would take minutes. User messages read "Message N: …",
 * answers "Answer N: …" from `modelId`, all complete. Columns a later migration adds are filled when
 * the table has them: `depth` (root = 1) and `token_estimate` (the server's own estimate).
 */
export async function seedLongConversation(
  server: TestServer,
  options: { userId: string; messageCount: number; modelId: string; title: string },
): Promise<SeededConversation> {
  if (options.messageCount % 2 !== 0) throw new Error("seedLongConversation: messageCount must be even (question, answer, …)");
  const database = server.database;
  const columns = await database("messages").columnInfo();
  const conversation = await server.services.conversations.create(options.userId, { title: options.title, modelId: options.modelId });
  const provider = options.modelId.slice(0, options.modelId.indexOf(":"));
  const startedAt = Date.now() - options.messageCount * 1_000;
  const messageIds: string[] = [];
  await database.transaction(async (transaction) => {
    let batch: Record<string, unknown>[] = [];
    let parentId: string | null = null;
    for (let index = 0; index < options.messageCount; index++) {
      const isUser = index % 2 === 0;
      const turn = Math.floor(index / 2) + 1;
      const content = isUser
        ? `Message ${index + 1}: question ${turn} of a long conversation.`
        : `Answer ${index + 1}: the reply to question ${turn}, from ${options.modelId}.`;
      const at = startedAt + index * 1_000;
      const id = crypto.randomUUID();
      const row: Record<string, unknown> = {
        id,
        conversation_id: conversation.id,
        parent_id: parentId,
        role: isUser ? "user" : "assistant",
        content,
        status: "complete",
        provider: isUser ? null : provider,
        model_id: isUser ? null : options.modelId,
        input_tokens: isUser ? null : 10 + index,
        output_tokens: isUser ? null : 12,
        time_to_first_token_ms: isUser ? null : 5,
        duration_ms: isUser ? null : 9,
        finish_reason: isUser ? null : "stop",
        finish_reason_raw: isUser ? null : "end_turn",
        error_code: null,
        error_message: null,
        context_snapshot: null,
        created_at: at,
        updated_at: at,
      };
      if ("depth" in columns) row.depth = index + 1;
      if ("token_estimate" in columns) row.token_estimate = estimateMessageTokens(content);
      batch.push(row);
      messageIds.push(id);
      parentId = id;
      if (batch.length === SEED_BATCH_ROWS) {
        await transaction("messages").insert(batch);
        batch = [];
      }
    }
    if (batch.length > 0) await transaction("messages").insert(batch);
    const lastAt = startedAt + (options.messageCount - 1) * 1_000;
    await transaction("conversations")
      .where({ id: conversation.id })
      .update({ leaf_message_id: parentId, last_message_at: lastAt, updated_at: lastAt });
  });
  return { conversationId: conversation.id, messageIds };
}
