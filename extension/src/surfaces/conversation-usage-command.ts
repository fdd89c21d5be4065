import * as vscode from "vscode";
import type { ChatSession } from "../chat/chat-session";
import { describeConversationUsage } from "../chat/describe-conversation-usage";

/**
 * "Juggler: Show Conversation Usage" (in the chat view's title bar): the open conversation's tokens,
 * cost and answers per model and in all, from `GET /conversations/:id/usage`.
 */
export function registerConversationUsageCommand(context: vscode.ExtensionContext, session: ChatSession): void {
  context.subscriptions.push(
    vscode.commands.registerCommand("juggler.showConversationUsage", async (): Promise<vscode.QuickPickItem[] | undefined> => {
      const conversationId = session.openConversationId;
      if (!conversationId) {
        void vscode.window.showInformationMessage("Open a conversation to see what its answers used.");
        return undefined;
      }
      let items: vscode.QuickPickItem[];
      try {
        const usage = await session.client.call("getConversationUsage", { params: { conversationId } });
        const { models, total } = describeConversationUsage(usage, (modelId) => session.modelLabel(modelId) ?? modelId);
        items = [
          ...models.map((line) => ({ label: `$(hubot) ${line.label}`, detail: line.detail })),
          { label: "", kind: vscode.QuickPickItemKind.Separator },
          { label: `$(graph) ${total.label}`, detail: total.detail },
        ];
      } catch (error) {
        void vscode.window.showErrorMessage(
          `Juggler could not read the conversation's usage: ${error instanceof Error ? error.message : String(error)}`,
        );
        return undefined;
      }
      const title = session.conversationTitle(conversationId);
      // Read-only: choosing a line changes nothing; the answer just written may count a moment later.
      void vscode.window.showQuickPick(items, {
        title: title ? `Usage of "${title}"` : "Usage of this conversation",
        placeHolder: "Tokens, cost and answers per model",
        matchOnDetail: true,
      });
      return items;
    }),
  );
}
