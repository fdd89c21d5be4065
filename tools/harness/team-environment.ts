/**
 * The back end both real-VS-Code suites talk to: the real team server (SQLite in a temp folder)
 * and the fake Anthropic, Groq and Ollama servers in `echo` mode, all in the mocha process. The
 * extension under test reaches them over HTTP, like a member's VS Code reaches a team's server.
 */
import type { ProviderKind } from "../../protocol/http/providers";
import { startFakeProviders, type FakeProviders } from "../fake-providers/index";
import { buildLongConversation } from "./long-conversation";
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

/**
 * A conversation of `messageCount` messages (an even number) written straight through the server's
 * storage (buildLongConversation), as if the user had chatted that long: sending thousands of messages
 * through the API would take minutes. User messages read "Message N: …", answers "Answer N: …" from
 * `modelId`, all complete.
 */
export async function seedLongConversation(
  server: TestServer,
  options: { userId: string; messageCount: number; modelId: string; title: string },
): Promise<SeededConversation> {
  if (options.messageCount % 2 !== 0) throw new Error("seedLongConversation: messageCount must be even (question, answer, …)");
  const conversation = await server.services.conversations.create(options.userId, { title: options.title, modelId: options.modelId });
  const provider = options.modelId.slice(0, options.modelId.indexOf(":")) as ProviderKind;
  const built = await buildLongConversation({
    database: server.database,
    userId: options.userId,
    conversationId: conversation.id,
    messageCount: options.messageCount,
    answeredBy: { provider, modelId: options.modelId },
    contentOf: (index) => {
      const turn = Math.floor(index / 2) + 1;
      return index % 2 === 0
        ? `Message ${index + 1}: question ${turn} of a long conversation.`
        : `Answer ${index + 1}: the reply to question ${turn}, from ${options.modelId}.`;
    },
  });
  return { conversationId: conversation.id, messageIds: built.messageIds };
}
