/**
 * What the integration tests inside the extension host know about the world outside: the mocha
 * process that started code-server hands the team server, the fakes and the account over as
 * environment variables (code-server's environment reaches the extension host's `process.env`).
 * See ../extension-host.test.ts for the other side.
 */
import * as vscode from "vscode";
import type { JugglerExtensionApi } from "../../../extension/src/extension";
import type { ProviderKind } from "../../../protocol/http/providers";
import { ENVIRONMENT_VARIABLES } from "./environment-variables";

export const EXTENSION_ID = "juggler.juggler";

export interface ExtensionHostEnvironment {
  serverUrl: string;
  userName: string;
  password: string;
  /** Visible model ids per provider, answering ones first (from configureFakeProviders). */
  models: Record<ProviderKind, string[]>;
  /** Base URL of each fake provider (their `/__control/*` endpoints change reply and pace). */
  fakeUrls: Record<ProviderKind, string>;
  /** The workspace folder the workbench opened. */
  workspaceFolder: string;
}

export function readEnvironment(): ExtensionHostEnvironment {
  const read = (name: string): string => {
    const value = process.env[name];
    if (!value) throw new Error(`${name} is not set: run these tests through test/vscode/extension-host.test.ts`);
    return value;
  };
  return {
    serverUrl: read(ENVIRONMENT_VARIABLES.serverUrl),
    userName: read(ENVIRONMENT_VARIABLES.userName),
    password: read(ENVIRONMENT_VARIABLES.password),
    models: JSON.parse(read(ENVIRONMENT_VARIABLES.models)) as Record<ProviderKind, string[]>,
    fakeUrls: JSON.parse(read(ENVIRONMENT_VARIABLES.fakeUrls)) as Record<ProviderKind, string>,
    workspaceFolder: read(ENVIRONMENT_VARIABLES.workspaceFolder),
  };
}

/** The API activate() returns, once the extension is active (it activates on start-up by itself). */
export async function jugglerApi(): Promise<JugglerExtensionApi> {
  const extension = vscode.extensions.getExtension<JugglerExtensionApi>(EXTENSION_ID);
  if (!extension) throw new Error(`${EXTENSION_ID} is not installed`);
  return extension.isActive ? extension.exports : extension.activate();
}

/** Polls `read` until `accept` holds; fails with the last value seen (no fixed sleeps in tests). */
export async function waitFor<T>(
  description: string,
  read: () => T | Promise<T>,
  accept: (value: T) => boolean = Boolean,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (!accept(value)) {
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${description}; last value: ${describe(value)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    value = await read();
  }
  return value;
}

function describe(value: unknown): string {
  try {
    const text = JSON.stringify(value);
    return text === undefined ? String(value) : text.slice(0, 600);
  } catch {
    return String(value);
  }
}

/** Changes how every fake answers (through its control endpoint): its pause before each token. */
export async function setFakeTokenDelay(environment: ExtensionHostEnvironment, tokenDelayMs: number): Promise<void> {
  await Promise.all(
    Object.values(environment.fakeUrls).map(async (url) => {
      const response = await fetch(`${url}/__control/settings`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ tokenDelayMs }),
      });
      if (!response.ok) throw new Error(`${url}/__control/settings answered ${response.status}`);
    }),
  );
}

export interface RecordedProviderRequest {
  method: string;
  path: string;
  body: unknown;
  completed: boolean;
  clientClosed: boolean;
}

/** What one fake received so far (chat and model-list calls). */
export async function fakeRequests(environment: ExtensionHostEnvironment, provider: ProviderKind): Promise<RecordedProviderRequest[]> {
  const response = await fetch(`${environment.fakeUrls[provider]}/__control/requests`);
  if (!response.ok) throw new Error(`${provider} fake /__control/requests answered ${response.status}`);
  return ((await response.json()) as { requests: RecordedProviderRequest[] }).requests;
}

/** `anthropic:claude-sonnet-5-5` → `claude-sonnet-5-5`, the name the provider (and its echo) sees. */
export function providerModelName(modelId: string): string {
  return modelId.slice(modelId.indexOf(":") + 1);
}
