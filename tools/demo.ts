import path from "node:path";
import { providerKinds } from "../protocol/http/providers";
import { ConfigError, loadConfig } from "../server/src/config";
import { startTeamServer } from "../server/src/team-server";
import { startFakeProviders } from "./fake-providers";

/**
 * `npm run demo`: Juggler without any keys. Starts local fake Anthropic, Groq and Ollama servers
 * (real wire formats; they answer by echoing what they received, so a model switch visibly carries
 * the conversation) and a team server wired to them with every model visible.
 * Data goes to DATA_DIR (default ./data/demo) so it never mixes with a real install.
 */
async function main(): Promise<void> {
  const fakes = await startFakeProviders({ tokenDelayMs: 30 });
  let config;
  try {
    config = loadConfig({
      ...process.env,
      DATA_DIR: process.env.DATA_DIR ?? path.join("data", "demo"),
      ANTHROPIC_API_KEY: fakes.anthropic.apiKey,
      ANTHROPIC_BASE_URL: fakes.anthropic.url,
      GROQ_API_KEY: fakes.groq.apiKey,
      GROQ_BASE_URL: fakes.groq.url,
      OLLAMA_BASE_URL: fakes.ollama.url,
    });
  } catch (error) {
    await fakes.close();
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const server = await startTeamServer(config);
  for (const kind of providerKinds) {
    const { models } = await server.services.catalog.refreshProviderModels(kind);
    const hidden = models.filter((model) => model.isAvailable && !model.isVisible);
    if (hidden.length > 0) {
      await server.services.catalog.updateVisibility({ changes: hidden.map((model) => ({ id: model.id, isVisible: true })) });
    }
  }
  const { models } = await server.services.catalog.listVisibleModels();
  process.stdout.write(
    [
      "",
      `Juggler demo: team server on ${server.url}, data in ${config.dataDirectory}`,
      `Fake providers: Anthropic ${fakes.anthropic.url} · Groq ${fakes.groq.url} · Ollama ${fakes.ollama.url}`,
      `${models.length} models visible. They echo what they receive, so switching model shows the whole conversation was carried.`,
      "",
      `In VS Code: set "juggler.serverUrl" to ${server.url}, then Accounts menu → Sign in with Juggler (the first account becomes admin).`,
      "Press Ctrl+C to stop.",
      "",
    ].join("\n"),
  );

  let isStopping = false;
  const stop = () => {
    if (isStopping) return;
    isStopping = true;
    void server
      .close()
      .then(() => fakes.close())
      .then(() => process.exit(0));
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
