import type { Model } from "../../../protocol/http/models";

/** When a provider does not tell a model's limits, what the snippets say (tools fill these fields). */
const FALLBACK_CONTEXT_WINDOW = 8_192;
const FALLBACK_MAX_OUTPUT_TOKENS = 4_096;

export interface TeamModelsElsewhereInput {
  serverUrl: string;
  models: readonly Pick<Model, "id" | "displayName" | "contextWindow" | "maxOutputTokens" | "supportsVision">[];
  /** A key made for this page (shown once, here), or undefined for a placeholder. */
  apiKey?: string;
}

/** The text written in place of a key the page does not know. */
export const API_KEY_PLACEHOLDER = "<your Juggler API key>";

/**
 * "Juggler: Use Team Models Elsewhere": a Markdown page with settings ready to paste into VS Code's
 * Custom Endpoint (chatLanguageModels.json), Continue, Cline and a curl line, all pointing at the team
 * gateway (docs/gateway.md) with the team's visible models and their limits.
 */
export function describeTeamModelsElsewhere(input: TeamModelsElsewhereInput): string {
  const server = input.serverUrl.replace(/\/+$/, "");
  const openAiBase = `${server}/openai/v1`;
  const anthropicBase = `${server}/anthropic`;
  const key = input.apiKey ?? API_KEY_PLACEHOLDER;
  const limits = (model: TeamModelsElsewhereInput["models"][number]) => {
    const contextWindow = model.contextWindow ?? FALLBACK_CONTEXT_WINDOW;
    const maxOutputTokens = Math.min(model.maxOutputTokens ?? FALLBACK_MAX_OUTPUT_TOKENS, Math.floor(contextWindow / 2));
    return { contextWindow, maxOutputTokens };
  };
  const firstModel = input.models[0]?.id ?? "<model id>";

  const vsCode = [
    {
      vendor: "customendpoint",
      name: "Juggler",
      apiKey: key,
      apiType: "chat-completions",
      models: input.models.map((model) => {
        const { contextWindow, maxOutputTokens } = limits(model);
        return {
          id: model.id,
          name: `${model.displayName} (Juggler)`,
          url: `${openAiBase}/chat/completions`,
          toolCalling: true,
          vision: false,
          contextWindow,
          maxOutputTokens,
        };
      }),
    },
  ];

  const continueModels = input.models
    .map((model) => {
      const { contextWindow, maxOutputTokens } = limits(model);
      return [
        `  - name: ${yamlString(`${model.displayName} (Juggler)`)}`,
        "    provider: openai",
        `    model: ${yamlString(model.id)}`,
        `    apiBase: ${yamlString(openAiBase)}`,
        `    apiKey: ${yamlString(key)}`,
        "    defaultCompletionOptions:",
        `      contextLength: ${contextWindow}`,
        `      maxTokens: ${maxOutputTokens}`,
      ].join("\n");
    })
    .join("\n");

  const curl = [
    `curl -N ${openAiBase}/chat/completions \\`,
    `  -H "Authorization: Bearer ${key}" -H "Content-Type: application/json" \\`,
    `  -d '${JSON.stringify({ model: firstModel, stream: true, messages: [{ role: "user", content: "Hello" }] })}'`,
  ].join("\n");

  const keyNote = input.apiKey
    ? "The key below was made for this page and is shown **only here**: paste it where you need it before you close this tab. Manage or revoke it with **Juggler: Manage API Keys**."
    : `Replace \`${API_KEY_PLACEHOLDER}\` with a personal key from **Juggler: Manage API Keys** (name each key after the tool that uses it: the usage view groups by that name).`;

  const modelTable = input.models.length
    ? [
        "| model id | name | context | max output |",
        "| --- | --- | --- | --- |",
        ...input.models.map((model) => {
          const { contextWindow, maxOutputTokens } = limits(model);
          return `| \`${model.id}\` | ${escapeTableCell(model.displayName)} | ${contextWindow} | ${maxOutputTokens} |`;
        }),
      ].join("\n")
    : "_No model is visible yet: ask your Juggler admin to choose the team's models._";

  return [
    "# Use your team's models elsewhere",
    "",
    "Every tool below runs on your team's models, keys and budgets through the Juggler gateway; what they use shows in **Juggler: Show Usage**.",
    "",
    keyNote,
    "",
    `- OpenAI-compatible base URL: \`${openAiBase}\``,
    `- Anthropic-compatible base URL: \`${anthropicBase}\` (the Anthropic SDKs add \`/v1\`)`,
    `- API key: \`${key}\``,
    "",
    "## Models",
    "",
    modelTable,
    "",
    "## VS Code chat: Custom Endpoint",
    "",
    "Juggler's models are already in VS Code's model picker while you are signed in (vendor **Juggler**). To use them through a key instead (e.g. in another editor profile), run **Chat: Manage Language Models**, add a **Custom Endpoint** group, or paste this into `chatLanguageModels.json`:",
    "",
    "```json",
    JSON.stringify(vsCode, null, 2),
    "```",
    "",
    "## Continue (`~/.continue/config.yaml`)",
    "",
    "```yaml",
    "models:",
    continueModels || "  []",
    "```",
    "",
    "## Cline",
    "",
    "Settings → API Provider **OpenAI Compatible**:",
    "",
    `- Base URL: \`${openAiBase}\``,
    `- API Key: \`${key}\``,
    `- Model ID: \`${firstModel}\` (any id of the table above)`,
    ...(input.models[0]
      ? [
          `- Context Window Size: ${limits(input.models[0]).contextWindow}`,
          `- Max Output Tokens: ${limits(input.models[0]).maxOutputTokens}`,
        ]
      : []),
    "",
    "## curl",
    "",
    "```sh",
    curl,
    "```",
    "",
  ].join("\n");
}

function yamlString(value: string): string {
  return JSON.stringify(value);
}

function escapeTableCell(text: string): string {
  return text.replace(/\|/g, "\\|");
}
