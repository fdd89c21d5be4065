import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import type { ProviderKind } from "../protocol/http/providers";

const repositoryRoot = path.resolve(__dirname, "..");

export interface FakeProviderEndpoint {
  url: string;
  setTokenDelayMs(delayMs: number): Promise<void>;
}

export type FakeProvidersProcess = Record<ProviderKind, FakeProviderEndpoint> & {
  pid: number;
  close(): Promise<void>;
};

/**
 * The fake providers in a process of their own (tools/fake-providers/main.ts), like a real
 * provider is elsewhere: hosted in the benchmark's own process, they would share one event loop
 * with the hundred clients, and the clients' work would be counted against the server. Direct and
 * through-the-server requests go to this same process, so the comparison stays fair.
 */
export async function startFakeProvidersProcess(
  /** The entry script and its arguments; the default is the standard fakes with zero token delay. */
  script: string[] = ["tools/fake-providers/main.ts", "--token-delay-ms", "0"],
): Promise<FakeProvidersProcess> {
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", ...script], {
    cwd: repositoryRoot,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const urls = await new Promise<Record<ProviderKind, string>>((resolve, reject) => {
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const found = Object.fromEntries(
        [...output.matchAll(/^(anthropic|groq|ollama) (http:\/\/\S+)$/gm)].map((match) => [match[1], match[2]]),
      );
      if (found.anthropic && found.groq && found.ollama) resolve(found as Record<ProviderKind, string>);
    });
    child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.once("exit", (code) => reject(new Error(`fake providers exited with ${code}:\n${output}`)));
  });
  const endpoint = (url: string): FakeProviderEndpoint => ({
    url,
    setTokenDelayMs: async (delayMs) => {
      const response = await fetch(`${url}/__control/settings`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ tokenDelayMs: delayMs }),
      });
      if (!response.ok) throw new Error(`fake provider settings: ${response.status} ${await response.text()}`);
    },
  });
  return {
    anthropic: endpoint(urls.anthropic),
    groq: endpoint(urls.groq),
    ollama: endpoint(urls.ollama),
    pid: child.pid as number,
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}
