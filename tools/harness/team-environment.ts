/**
 * The back end both real-VS-Code suites talk to: the real team server (SQLite in a temp folder)
 * and the fake Anthropic, Groq and Ollama servers in `echo` mode, all in the mocha process. The
 * extension under test reaches them over HTTP, like a member's VS Code reaches a team's server.
 */
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
