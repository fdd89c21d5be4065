import * as vscode from "vscode";
import type { ChatSession } from "../chat/chat-session";
import type { ChatViewProvider } from "./chat-view";

/**
 * "New Conversation from Preset…" (the team's presets: system prompt, model, temperature, output
 * limit) and "Set System Prompt…" (this conversation's, or your default for conversations without one).
 */
export function registerPromptCommands(
  context: vscode.ExtensionContext,
  session: ChatSession,
  chatView: ChatViewProvider,
  workspaceHint: () => string | undefined,
): void {
  context.subscriptions.push(
    vscode.commands.registerCommand("juggler.newConversationFromPreset", async () => {
      try {
        const { presets } = await session.client.call("listPresets");
        if (presets.length === 0) {
          void vscode.window.showInformationMessage(
            session.isAdmin
              ? "No presets yet: add them in Juggler: Team Settings."
              : "Your team has no presets yet. Ask your Juggler admin to add some.",
          );
          return;
        }
        const picked = await vscode.window.showQuickPick(
          presets.map((preset) => ({
            label: preset.name,
            description: preset.modelId ? session.modelLabel(preset.modelId) : undefined,
            detail: preset.systemPrompt ? preset.systemPrompt.slice(0, 200) : "The default system prompt",
            presetId: preset.id,
          })),
          {
            title: "New Conversation from Preset",
            placeHolder: "A preset starts the conversation with its system prompt and model",
            matchOnDetail: true,
          },
        );
        if (!picked) return;
        const hint = workspaceHint();
        const { conversation } = await session.client.call("createConversation", {
          body: { presetId: picked.presetId, ...(hint ? { workspaceHint: hint } : {}) },
        });
        await chatView.reveal();
        await session.openConversation(conversation.id);
        session.focusComposer();
      } catch (error) {
        void vscode.window.showErrorMessage(`Juggler could not start from the preset: ${describe(error)}`);
      }
    }),
    vscode.commands.registerCommand("juggler.setSystemPrompt", async () => {
      try {
        const conversationId = session.openConversationId;
        const scope = conversationId
          ? await vscode.window.showQuickPick(
              [
                { label: "This Conversation", detail: "Its next answers use it, whatever the model", value: "conversation" as const },
                { label: "My Default", detail: "For conversations without a system prompt of their own", value: "default" as const },
              ],
              { title: "Set System Prompt" },
            )
          : { value: "default" as const };
        if (!scope) return;
        const current =
          scope.value === "conversation" && conversationId
            ? ((await session.client.call("getConversation", { params: { conversationId }, query: { limit: 1 } })).conversation
                .systemPrompt ?? "")
            : ((await session.client.call("getDefaultSystemPrompt")).systemPrompt ?? "");
        const text = await vscode.window.showInputBox({
          title: scope.value === "conversation" ? "System Prompt of This Conversation" : "My Default System Prompt",
          prompt: "Leave it empty to go back to the default.",
          value: current,
        });
        if (text === undefined) return;
        const systemPrompt = text.trim() === "" ? null : text;
        if (scope.value === "conversation" && conversationId) {
          await session.client.call("updateConversation", { params: { conversationId }, body: { systemPrompt } });
        } else {
          await session.client.call("setDefaultSystemPrompt", { body: { systemPrompt } });
        }
        void vscode.window.showInformationMessage(
          systemPrompt === null ? "Juggler: back to the default system prompt." : "Juggler: system prompt set.",
        );
      } catch (error) {
        void vscode.window.showErrorMessage(`Juggler could not set the system prompt: ${describe(error)}`);
      }
    }),
  );
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
