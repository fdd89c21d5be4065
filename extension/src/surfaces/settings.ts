import * as vscode from "vscode";

export const SETTINGS_SECTION = "juggler";
export const DEFAULT_SERVER_URL = "http://localhost:8080";

export function readServerUrlSetting(): string {
  return vscode.workspace.getConfiguration(SETTINGS_SECTION).get<string>("serverUrl")?.trim() || DEFAULT_SERVER_URL;
}

/** The instruction "Send Selection to Model" uses when the user leaves it empty. */
export function readDefaultSelectionInstruction(): string | undefined {
  return vscode.workspace.getConfiguration(SETTINGS_SECTION).get<string>("sendSelection.defaultInstruction")?.trim() || undefined;
}

/** Whether "Send Selection to Model" asks for an instruction first. */
export function readAskForSelectionInstruction(): boolean {
  return vscode.workspace.getConfiguration(SETTINGS_SECTION).get<boolean>("sendSelection.askForInstruction") ?? true;
}
