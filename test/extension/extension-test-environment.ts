import http from "node:http";
import net from "node:net";
import type { AddressInfo } from "node:net";
import type { ChatViewConnection } from "../../extension/src/chat/chat-view-channel";
import { TeamServerClient, type FetchFunction } from "../../extension/src/server-client/team-server-client";
import { MemoryTokenStore, type TokenStore } from "../../extension/src/server-client/token-store";
import type { Message } from "../../protocol/http/conversations";
import type { ChatSnapshot, HostToWebviewEnvelope } from "../../protocol/webview/chat-protocol";
import { startFakeProviders, type FakeProviders } from "../../tools/fake-providers";
import { configureFakeProviders, type VisibleModelIds } from "../../tools/harness/provider-setup";
import { registerUser, startTestServer, type TestServer } from "../../tools/harness/test-server";

export const PASSWORD = "correct horse battery";

export interface ExtensionTestEnvironment {
  server: TestServer;
  fakes: FakeProviders;
  models: VisibleModelIds;
  adminToken: string;
  /** Moves the server's clock (not the client's) forward. */
  advanceServerClock(milliseconds: number): void;
  /** The server's clock. */
  serverNow(): number;
  /** A member account (registered once per name) and a client signed in as it. */
  signedInClient(name: string, options?: { fetch?: FetchFunction; tokenStore?: TokenStore; now?: () => number }): Promise<TeamServerClient>;
  dispose(): Promise<void>;
}

/**
 * The real team server (SQLite in a temp folder) with the fake Anthropic, Groq and Ollama behind it,
 * configured as an admin would: every fake model visible.
 */
export async function startExtensionTestEnvironment(
  options: { environment?: Record<string, string>; tokenDelayMs?: number } = {},
): Promise<ExtensionTestEnvironment> {
  const fakes = await startFakeProviders({ tokenDelayMs: options.tokenDelayMs ?? 0 });
  let clockOffsetMs = 0;
  const server = await startTestServer({
    environment: { AUTH_RATE_LIMIT_PER_MINUTE: "10000", ...options.environment },
    now: () => Date.now() + clockOffsetMs,
  });
  const admin = await registerUser(server, "admin");
  const models = await configureFakeProviders(server, fakes, admin.accessToken);
  const registered = new Set<string>(["admin"]);
  return {
    server,
    fakes,
    models,
    adminToken: admin.accessToken,
    advanceServerClock: (milliseconds) => {
      clockOffsetMs += milliseconds;
    },
    serverNow: () => Date.now() + clockOffsetMs,
    signedInClient: async (name, clientOptions = {}) => {
      if (!registered.has(name)) {
        await registerUser(server, name, PASSWORD);
        registered.add(name);
      }
      const client = new TeamServerClient({
        serverUrl: server.url,
        tokenStore: clientOptions.tokenStore ?? new MemoryTokenStore(),
        fetch: clientOptions.fetch,
        now: clientOptions.now,
        // The server sends `retry: 2000`; tests need not wait that long between reconnections.
        streamRetry: { initialDelayMs: 20, maxDelayMs: 200 },
      });
      await client.signIn({ name, password: PASSWORD });
      return client;
    },
    dispose: async () => {
      await server.dispose();
      await fakes.close();
    },
  };
}

/** A fetch wrapper that records every request's method, path and headers. */
export function recordingFetch(): {
  fetch: FetchFunction;
  requests: Array<{ method: string; path: string; headers: Headers; status: number }>;
} {
  const requests: Array<{ method: string; path: string; headers: Headers; status: number }> = [];
  return {
    requests,
    fetch: async (input, init) => {
      const response = await fetch(input, init);
      requests.push({
        method: init?.method ?? "GET",
        path: new URL(input).pathname,
        headers: new Headers(init?.headers),
        status: response.status,
      });
      return response;
    },
  };
}

/**
 * A stand-in for a webview: records what the host posts, applies it as the chat webview does
 * (snapshot replaces, appended adds, delta appends, updated replaces), and remembers every text
 * each message showed. Its visibility can be flipped; a hidden view drops what is posted, like VS Code.
 */
export class RecordingView implements ChatViewConnection {
  readonly messages: HostToWebviewEnvelope[] = [];
  /** What the view shows, by message id. */
  readonly shown = new Map<string, Message>();
  /** Every content a message showed, in order. */
  readonly shownHistory = new Map<string, string[]>();
  conversationId: string | null = null;
  /** What the host posted while the view was hidden (VS Code drops it). */
  readonly droppedWhileHidden: HostToWebviewEnvelope[] = [];
  isVisible: boolean;

  constructor(isVisible = true) {
    this.isVisible = isVisible;
  }

  postMessage(message: HostToWebviewEnvelope): void {
    if (!this.isVisible) {
      this.droppedWhileHidden.push(structuredClone(message));
      return;
    }
    // Posting serialises (structured clone): keep a copy, not a live reference.
    const copy = structuredClone(message);
    this.messages.push(copy);
    if (copy.kind === "notification") this.apply(copy.method, copy.params);
  }

  private apply(method: string, params: unknown): void {
    switch (method) {
      case "state/snapshot": {
        const snapshot = params as ChatSnapshot;
        this.conversationId = snapshot.conversation?.id ?? null;
        this.shown.clear();
        for (const message of snapshot.messages) this.show(message);
        break;
      }
      case "messages/appended":
        for (const message of (params as { messages: Message[] }).messages) this.show(message);
        break;
      case "stream/delta": {
        const { messageId, text } = params as { messageId: string; text: string };
        const message = this.shown.get(messageId);
        if (message) this.show({ ...message, content: message.content + text });
        break;
      }
      case "message/updated":
        this.show((params as { message: Message }).message);
        break;
    }
  }

  private show(message: Message): void {
    this.shown.set(message.id, message);
    const history = this.shownHistory.get(message.id) ?? [];
    history.push(message.content);
    this.shownHistory.set(message.id, history);
  }

  /** Whether every text the message showed was a prefix of its final text: nothing shown twice or out of order. */
  showedOnlyPrefixesOf(messageId: string, finalText: string): boolean {
    return (this.shownHistory.get(messageId) ?? []).every((content) => finalText.startsWith(content));
  }

  notifications(method: string): unknown[] {
    return this.messages
      .filter((message) => message.kind === "notification" && message.method === method)
      .map((message) => (message as { params: unknown }).params);
  }

  response(id: number): HostToWebviewEnvelope | undefined {
    return this.messages.find((message) => message.kind === "response" && message.id === id);
  }
}

/** A local HTTP server answering with whatever the test says (an incompatible or broken "team server"). */
export async function startStubServer(
  handler: (request: http.IncomingMessage, response: http.ServerResponse) => void,
): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Polls until the condition holds (behaviour, not timing: the timeout only bounds a failure). */
export async function waitUntil(condition: () => boolean, description: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting until ${description}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * A TCP proxy in front of a server that can be switched off and on at its own address: the "team
 * server" goes down (connections refused, open ones cut) and comes back, as a restarting server does.
 */
export async function startSwitchableProxy(
  targetUrl: string,
): Promise<{ url: string; goDown(): Promise<void>; comeBack(): Promise<void>; close(): Promise<void> }> {
  const target = new URL(targetUrl);
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      socket.on("error", () => socket.destroy());
    }
    client.pipe(upstream).pipe(client);
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const goDown = async () => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of sockets) socket.destroy();
    await closed;
  };
  return {
    url: `http://127.0.0.1:${port}`,
    goDown,
    comeBack: () => new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve)),
    close: async () => {
      if (server.listening) await goDown();
    },
  };
}
