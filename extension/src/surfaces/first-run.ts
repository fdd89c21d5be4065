import * as vscode from "vscode";

/** The getting-started walkthrough of package.json (`contributes.walkthroughs`), as `<publisher>.<name>#<id>`. */
export const WALKTHROUGH_ID = "juggler.juggler#juggler.gettingStarted";

/**
 * Said once, right after the first account of a server was created: it is the admin, and the team
 * has no model until the admin adds a provider key (the well-known models of a provider are then
 * visible at once).
 */
export async function welcomeFirstAdmin(): Promise<void> {
  const choice = await vscode.window.showInformationMessage(
    "Your Juggler account is the admin of this team server. Next, add a provider key in Team Settings: its well-known chat models become visible to the team at once.",
    "Open Team Settings",
    "Get Started",
  );
  if (choice === "Open Team Settings") await vscode.commands.executeCommand("juggler.openTeamSettings");
  else if (choice === "Get Started") await openWalkthrough();
}

export function openWalkthrough(): Thenable<unknown> {
  return vscode.commands.executeCommand("workbench.action.openWalkthrough", WALKTHROUGH_ID, false);
}

/** "Juggler: Get Started" opens the walkthrough. */
export function registerFirstRun(context: vscode.ExtensionContext): void {
  context.subscriptions.push(vscode.commands.registerCommand("juggler.getStarted", () => openWalkthrough()));
}
