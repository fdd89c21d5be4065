import * as vscode from "vscode";
import type { Model } from "../../../protocol/http/models";
import { providerLabels } from "../../../protocol/http/providers";
import type { ChatSession } from "../chat/chat-session";
import { describeBudgetUse, type BudgetUse } from "../chat/describe-budget-use";
import { formatTokenCount } from "../chat/format-token-count";
import { toVsCodeDisposable } from "./accounts";

/**
 * The status-bar item with the active conversation's model (`$(hubot) Claude Sonnet 4.5`); a click
 * opens the model quick pick. Signed out, it offers to sign in instead; offline, to reconnect; with
 * no model yet, an admin is taken to Team Settings and a member is told to ask their admin.
 */
export function registerModelStatusBar(context: vscode.ExtensionContext, session: ChatSession): vscode.StatusBarItem {
  const item = vscode.window.createStatusBarItem("juggler.model", vscode.StatusBarAlignment.Right, 100);
  item.name = "Juggler Model";
  const budget = new BudgetReader(session, () => update());
  const update = () => renderStatusBarItem(item, session, budget.current);
  update();
  item.show();
  context.subscriptions.push(
    item,
    toVsCodeDisposable(session.onActiveModelChanged(update)),
    toVsCodeDisposable(
      session.onStateChanged(() => {
        update();
        budget.refresh();
      }),
    ),
    // Each answer moves the month's use on (its ledger row is written moments after its end).
    toVsCodeDisposable(session.onAnswerFinished(() => budget.refresh(ANSWER_RECORDING_DELAY_MS))),
    vscode.commands.registerCommand("juggler.switchModel", () => pickModel(session)),
  );
  return item;
}

/** The ledger row of an answer is written moments after the answer's end (docs/gateway.md#the-ledger). */
const ANSWER_RECORDING_DELAY_MS = 1_500;
/** At most one read of the month's use in this time, however many answers end. */
const BUDGET_READ_INTERVAL_MS = 10_000;

/**
 * This month's use against the budget (`GET /me/usage-summary`), read when the session becomes
 * ready and after answers, at most once per BUDGET_READ_INTERVAL_MS (a read asked for meanwhile
 * happens at the end of the interval, so the last answer is always counted).
 */
class BudgetReader {
  current: BudgetUse | undefined;
  private lastReadAt = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly session: ChatSession,
    private readonly changed: () => void,
  ) {}

  refresh(delayMs = 0): void {
    if (this.session.connectionState !== "ready") {
      this.current = undefined;
      return;
    }
    if (this.timer !== undefined) return;
    const wait = Math.max(delayMs, this.lastReadAt + BUDGET_READ_INTERVAL_MS - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.lastReadAt = Date.now();
      this.session.client
        .call("getUsageSummary")
        .then((summary) => {
          this.current = describeBudgetUse(summary);
          this.changed();
        })
        // Not shown is better than wrong: an older server without budgets, or offline for a moment.
        .catch(() => undefined);
    }, wait);
  }
}

function renderStatusBarItem(item: vscode.StatusBarItem, session: ChatSession, budget: BudgetUse | undefined): void {
  const state = session.connectionState;
  item.backgroundColor = undefined;
  switch (state) {
    case "ready": {
      const model = session.activeModel;
      if (model) {
        item.text = `$(hubot) ${model.label}`;
        const budgetLines = budget ? `\n\n---\n\n${budget.lines.map(escapeMarkdown).join("  \n")}` : "";
        item.tooltip = new vscode.MarkdownString(
          `Juggler model: **${escapeMarkdown(model.label)}** (${escapeMarkdown(model.provider)})\n\nClick to switch the model of this conversation.${budgetLines}`,
        );
        // A spent monthly limit refuses every answer: say so where the user looks before sending.
        if (budget?.isExhausted) item.backgroundColor = new vscode.ThemeColor("statusBarItem.warningBackground");
        item.accessibilityInformation = { label: `Juggler model: ${model.label}. Switch model`, role: "button" };
        item.command = "juggler.switchModel";
      } else if (session.isAdmin) {
        item.text = "$(hubot) No model";
        item.tooltip = "No model is visible yet. Click to open Team Settings: add a provider key and choose the models your team sees.";
        item.accessibilityInformation = { label: "Juggler: no model yet. Open Team Settings", role: "button" };
        item.command = "juggler.openTeamSettings";
      } else {
        item.text = "$(hubot) No model";
        item.tooltip = "No model is available yet: ask your Juggler admin to add a provider and choose models.";
        item.accessibilityInformation = { label: "Juggler: no model available yet. Ask your Juggler admin", role: "button" };
        item.command = "juggler.switchModel";
      }
      return;
    }
    case "connecting":
      item.text = "$(loading~spin) Juggler";
      item.tooltip = "Connecting to the Juggler server…";
      item.accessibilityInformation = { label: "Juggler: connecting" };
      item.command = undefined;
      return;
    case "signed-out":
    case "needs-sign-in":
      item.text = "$(hubot) Juggler: Sign In";
      item.tooltip =
        state === "needs-sign-in" ? "Your Juggler session ended. Click to sign in again." : "Sign in to your team's Juggler server";
      item.accessibilityInformation = { label: "Sign in to Juggler", role: "button" };
      item.command = "juggler.signIn";
      return;
    case "offline":
    case "incompatible-server":
      item.text = state === "offline" ? "$(debug-disconnect) Juggler" : "$(warning) Juggler";
      item.tooltip = session.snapshot().banner?.message ?? "Not connected to the Juggler server";
      item.accessibilityInformation = { label: `Juggler: ${item.tooltip}. Reconnect`, role: "button" };
      item.backgroundColor = new vscode.ThemeColor("statusBarItem.warningBackground");
      item.command = "juggler.reconnect";
      return;
  }
}

interface ModelQuickPickItem extends vscode.QuickPickItem {
  modelId?: string;
  /** The empty list's way forward for an admin. */
  command?: string;
}

/** The quick pick of visible models, grouped by provider, the current one marked: switches the conversation's model. */
export async function pickModel(session: ChatSession): Promise<void> {
  const chosen = await chooseModel(session, {
    title: "Switch Model",
    placeholder: session.openConversationId
      ? "Model for this conversation (it sees the whole conversation)"
      : "Model for the next conversation",
    currentModelId: session.activeModelId,
  });
  if (!chosen || chosen === session.activeModelId) return;
  try {
    await session.switchModel(chosen);
  } catch (error) {
    void vscode.window.showErrorMessage(`Juggler could not switch the model: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/**
 * Asks for one of the visible models (grouped by provider, `currentModelId` marked); undefined when
 * the pick was cancelled or the chat is not connected (then the user is told why, or asked to sign in).
 */
export async function chooseModel(
  session: ChatSession,
  options: { title: string; placeholder: string; currentModelId: string | null },
): Promise<string | undefined> {
  if (session.connectionState === "signed-out" || session.connectionState === "needs-sign-in") {
    await vscode.commands.executeCommand("juggler.signIn");
    return undefined;
  }
  if (session.connectionState !== "ready") {
    void vscode.window.showWarningMessage(session.snapshot().banner?.message ?? "Juggler is not connected to its server yet.");
    return undefined;
  }
  const { currentModelId } = options;
  const quickPick = vscode.window.createQuickPick<ModelQuickPickItem>();
  quickPick.title = options.title;
  quickPick.placeholder = options.placeholder;
  quickPick.matchOnDetail = true;
  quickPick.items = toModelItems(session.visibleModels, currentModelId, session.isAdmin);
  quickPick.activeItems = quickPick.items.filter((item) => item.modelId === currentModelId);
  quickPick.busy = true;
  quickPick.show();
  // An admin may have changed the visible models since the last load: refresh while the list is open.
  session
    .reloadModels()
    .then((models) => {
      quickPick.items = toModelItems(models, currentModelId, session.isAdmin);
      quickPick.activeItems = quickPick.items.filter((item) => item.modelId === currentModelId);
    })
    .catch(() => undefined)
    .finally(() => {
      quickPick.busy = false;
    });
  const chosenItem = await new Promise<ModelQuickPickItem | undefined>((resolve) => {
    quickPick.onDidAccept(() => {
      resolve(quickPick.selectedItems[0]);
      quickPick.hide();
    });
    quickPick.onDidHide(() => resolve(undefined));
  });
  quickPick.dispose();
  if (chosenItem?.command) {
    await vscode.commands.executeCommand(chosenItem.command);
    return undefined;
  }
  return chosenItem?.modelId;
}

/** Compare…: a multi-select pick of the visible models; undefined when cancelled. Fewer or more than allowed is said, and asked again. */
export async function chooseModels(
  session: ChatSession,
  options: { title: string; minimum: number; maximum: number },
): Promise<string[] | undefined> {
  if (session.connectionState !== "ready") {
    void vscode.window.showWarningMessage(session.snapshot().banner?.message ?? "Juggler is not connected to its server yet.");
    return undefined;
  }
  const items = toModelItems(session.visibleModels, null, session.isAdmin).filter((item) => item.modelId !== undefined);
  for (;;) {
    const picked = await vscode.window.showQuickPick(items, {
      title: options.title,
      placeHolder: `Pick ${options.minimum} to ${options.maximum} models: each answers the same question, side by side`,
      canPickMany: true,
      matchOnDetail: true,
    });
    if (picked === undefined || picked.length === 0) return undefined;
    if (picked.length >= options.minimum && picked.length <= options.maximum) return picked.map((item) => item.modelId!);
    const again = await vscode.window.showWarningMessage(
      `Compare takes ${options.minimum} to ${options.maximum} models; ${picked.length} ${picked.length === 1 ? "was" : "were"} picked.`,
      "Pick Again",
    );
    if (again !== "Pick Again") return undefined;
  }
}

function toModelItems(models: readonly Model[], activeModelId: string | null, isAdmin: boolean): ModelQuickPickItem[] {
  const items: ModelQuickPickItem[] = [];
  for (const provider of Object.keys(providerLabels) as (keyof typeof providerLabels)[]) {
    const ofProvider = models.filter((model) => model.provider === provider);
    if (ofProvider.length === 0) continue;
    items.push({ label: providerLabels[provider], kind: vscode.QuickPickItemKind.Separator });
    for (const model of ofProvider) {
      const isCurrent = model.id === activeModelId;
      items.push({
        label: isCurrent ? `$(check) ${model.displayName}` : model.displayName,
        description: isCurrent ? "current" : model.name !== model.displayName ? model.name : undefined,
        detail: describeModelLimits(model),
        modelId: model.id,
      });
    }
  }
  if (items.length > 0) return items;
  // Members cannot open Team Settings: they are told who can help, never to go there.
  return isAdmin
    ? [
        {
          label: "$(settings-gear) Open Team Settings",
          detail: "No model is visible yet: add a provider key and choose the models your team sees",
          command: "juggler.openTeamSettings",
        },
      ]
    : [{ label: "No models are available yet", detail: "Ask your Juggler admin to add a provider and choose models." }];
}

/** e.g. "200K context · 64K max output". */
export function describeModelLimits(model: Pick<Model, "contextWindow" | "maxOutputTokens">): string {
  const parts = [model.contextWindow ? `${formatTokenCount(model.contextWindow)} context` : "context size not reported"];
  if (model.maxOutputTokens) parts.push(`${formatTokenCount(model.maxOutputTokens)} max output`);
  return parts.join(" · ");
}

function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, "\\$&");
}
