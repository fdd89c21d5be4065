import * as vscode from "vscode";
import { ChatSession } from "./chat/chat-session";
import { TeamServerClient } from "./server-client/team-server-client";
import { registerAccounts, signIn } from "./surfaces/accounts";
import { registerShowContext, SHOW_CONTEXT_COMMAND } from "./surfaces/answer-context-provider";
import { registerApiKeyCommands } from "./surfaces/api-key-commands";
import { registerChatViews, type ChatViewProvider } from "./surfaces/chat-view";
import { registerContextKeys } from "./surfaces/context-keys";
import { ConversationLibrary } from "./library/conversation-library";
import { registerConversationTree, type ConversationTreeProvider } from "./surfaces/conversation-tree";
import { registerConversationUsageCommand } from "./surfaces/conversation-usage-command";
import { EditorCodeActions } from "./surfaces/editor-code-actions";
import { registerFirstRun } from "./surfaces/first-run";
import { registerLanguageModelProvider } from "./surfaces/language-model-provider";
import { registerLibraryCommands } from "./surfaces/library-commands";
import { registerModelStatusBar, pickModel, chooseModel, chooseModels } from "./surfaces/model-status-bar";
import { registerSearchQuickPick } from "./surfaces/search-quick-pick";
import { SecretTokenStore } from "./surfaces/secret-token-store";
import { registerSendSelection } from "./surfaces/send-selection";
import { WorkspaceFiles } from "./surfaces/workspace-files";
import { registerPromptCommands } from "./surfaces/prompt-commands";
import { readServerUrlSetting, SETTINGS_SECTION } from "./surfaces/settings";
import { registerTeamSettings } from "./surfaces/team-settings-panel";
import { registerUsagePanel } from "./surfaces/usage-panel";
import { registerAttachmentFileSystem } from "./surfaces/attachment-file-system";

/** What activate() returns: integration tests and the benchmark reach it through vscode.extensions.getExtension("juggler.juggler").exports. */
export interface JugglerExtensionApi {
  session: ChatSession;
  client: TeamServerClient;
  chatView: ChatViewProvider;
  conversationTree: ConversationTreeProvider;
  /** How long activate() took, in milliseconds (the benchmark reports it). */
  activationTimeMs: number;
  /** How long evaluating the bundle took, its first statement to its last (0 when not bundled). */
  bundleLoadTimeMs: number;
  /**
   * From the bundle's end to activate(): VS Code prepares the extension's context (its storage,
   * secrets) in parallel with loading the code and calls activate() when both are done. Not Juggler's
   * time, so not part of its activation, but logged to tell the two apart.
   */
  contextWaitTimeMs: number;
  /** Settles when the stored session (if any) has been restored and connected. */
  ready: Promise<void>;
}

/** Set by the bundle's first and last statements (tools/build.mjs); absent when the sources run unbundled. */
declare const __jugglerBundleLoadStartedAt: number | undefined;
declare const __jugglerBundleLoadEndedAt: number | undefined;
declare const __jugglerBundleLoadStartedCpu: NodeJS.CpuUsage | undefined;
declare const __jugglerBundleLoadEndedCpu: NodeJS.CpuUsage | undefined;

/** Wires the surfaces to one client and one chat session. No network before the first await. */
export function activate(context: vscode.ExtensionContext): JugglerExtensionApi {
  const startedAt = performance.now();
  const startedCpu = cpuUsage();
  const output = vscode.window.createOutputChannel("Juggler", { log: true });
  const tokenStore = new SecretTokenStore(context.secrets);
  const client = new TeamServerClient({ serverUrl: readServerUrlSetting(), tokenStore });
  const codeActions = new EditorCodeActions();
  const workspaceFiles = new WorkspaceFiles();
  // The folder a new conversation belongs to, and "This Workspace" in the tree: the first workspace folder.
  const workspaceHint = () => vscode.workspace.workspaceFolders?.[0]?.uri.toString();
  const session: ChatSession = new ChatSession({
    client,
    workspaceHint,
    log: (message, error) => output.warn(error ? `${message}: ${error instanceof Error ? error.message : String(error)}` : message),
    hostActions: {
      copyCode: (block) => codeActions.copy(block),
      insertCode: (block) => codeActions.insert(block),
      openCode: (block) => codeActions.open(block),
      openLink: (url) => {
        // openExternal shows VS Code's own "open external website?" confirmation for untrusted domains.
        void vscode.env.openExternal(vscode.Uri.parse(url, true));
      },
      pickModel: (): Promise<void> => pickModel(session),
      chooseModel: (options) => chooseModel(session, options),
      chooseModels: (options) => chooseModels(session, options),
      findWorkspaceFiles: (query) => workspaceFiles.find(query),
      readFileAttachment: (path) => workspaceFiles.readAttachment(path),
      openAttachment: (messageId, attachmentId, path) => attachmentFileSystem.open(messageId, attachmentId, path),
      showContext: async (messageId) => {
        await vscode.commands.executeCommand(SHOW_CONTEXT_COMMAND, messageId);
      },
      runHostCommand: async (command) => {
        if (command === "signIn") await signIn();
        else if (command === "openTeamSettings") await vscode.commands.executeCommand("juggler.openTeamSettings");
        else await vscode.commands.executeCommand("workbench.action.openSettings", `@ext:juggler.juggler`);
      },
    },
  });
  context.subscriptions.push(output, codeActions, workspaceFiles, session);

  registerContextKeys(context, session);
  registerAccounts(context, client);
  const chatView = registerChatViews(context, session);
  const { provider: conversationTree, treeView: conversationTreeView } = registerConversationTree(
    context,
    session,
    chatView,
    workspaceHint,
  );
  const library = new ConversationLibrary(client);
  registerLibraryCommands(context, { session, chatView, tree: conversationTree, treeView: conversationTreeView, library, workspaceHint });
  registerSearchQuickPick(context, { session, chatView, library });
  registerModelStatusBar(context, session);
  registerSendSelection(context, session, chatView, workspaceFiles);
  registerPromptCommands(context, session, chatView, workspaceHint);
  registerTeamSettings(context, session);
  registerShowContext(context, session);
  const attachmentFileSystem = registerAttachmentFileSystem(context, session);
  registerFirstRun(context);
  registerApiKeyCommands(context, session);
  registerUsagePanel(context, session);
  registerConversationUsageCommand(context, session);
  registerLanguageModelProvider(context, session, (record) =>
    output.info(
      `VS Code chat answer from ${record.modelId}: ${record.inputTokens ?? "?"} input and ${record.outputTokens ?? "?"} output tokens, first token after ${record.timeToFirstTokenMs ?? "?"} ms, ${record.durationMs} ms in all`,
    ),
  );

  context.subscriptions.push(
    vscode.commands.registerCommand("juggler.newConversation", async () => {
      session.newConversation();
      await chatView.reveal();
    }),
    vscode.commands.registerCommand("juggler.stopGeneration", async () => {
      try {
        await session.stopGeneration();
      } catch (error) {
        void vscode.window.showErrorMessage(`Juggler could not stop the answer: ${error instanceof Error ? error.message : String(error)}`);
      }
    }),
    vscode.commands.registerCommand("juggler.reconnect", () => session.connect()),
    // Back at the window after a while: an offline chat tries again, a connected one reads the models now.
    vscode.window.onDidChangeWindowState((state) => {
      if (state.focused) void session.checkConnection();
    }),
    tokenStore.onDidChange(() => void client.reloadStoredSession()),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (!event.affectsConfiguration(`${SETTINGS_SECTION}.serverUrl`)) return;
      // Another server: the session of the previous one no longer applies (the user signs in to the new one).
      client.setServerUrl(readServerUrlSetting());
      void client.reloadStoredSession();
    }),
  );

  const ready = session
    .start()
    .catch((error) => output.error(`Juggler could not start: ${error instanceof Error ? error.message : String(error)}`));
  const activationTimeMs = performance.now() - startedAt;
  const activationCpuMs = cpuMilliseconds(cpuUsage(), startedCpu);
  const isBundled = typeof __jugglerBundleLoadStartedAt === "number" && typeof __jugglerBundleLoadEndedAt === "number";
  const bundleLoadTimeMs = isBundled ? __jugglerBundleLoadEndedAt - __jugglerBundleLoadStartedAt : 0;
  const bundleLoadCpuMs =
    typeof __jugglerBundleLoadStartedCpu === "object" && typeof __jugglerBundleLoadEndedCpu === "object"
      ? cpuMilliseconds(__jugglerBundleLoadEndedCpu, __jugglerBundleLoadStartedCpu)
      : 0;
  const contextWaitTimeMs = isBundled ? startedAt - __jugglerBundleLoadEndedAt : 0;
  output.info(
    `Activated in ${(bundleLoadTimeMs + activationTimeMs).toFixed(1)} ms (loading ${bundleLoadTimeMs.toFixed(1)} ms, activate ${activationTimeMs.toFixed(1)} ms; VS Code prepared the context for ${contextWaitTimeMs.toFixed(1)} ms in between; CPU: loading ${bundleLoadCpuMs.toFixed(1)} ms, activate ${activationCpuMs.toFixed(1)} ms)`,
  );
  return { session, client, chatView, conversationTree, activationTimeMs, bundleLoadTimeMs, contextWaitTimeMs, ready };
}

/** The main thread's CPU time where Node has process.threadCpuUsage (the Node 24 of code-server does), else the process's. */
function cpuUsage(): NodeJS.CpuUsage {
  const threadCpuUsage = (process as { threadCpuUsage?: () => NodeJS.CpuUsage }).threadCpuUsage;
  return threadCpuUsage ? threadCpuUsage() : process.cpuUsage();
}

function cpuMilliseconds(end: NodeJS.CpuUsage, start: NodeJS.CpuUsage): number {
  return (end.user - start.user + end.system - start.system) / 1000;
}

export function deactivate(): void {
  // Everything is in context.subscriptions; open streams detach (the server keeps generating).
}
