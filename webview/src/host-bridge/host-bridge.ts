import type { z } from "zod";
import {
  hostToWebviewSchema,
  type CommandName,
  type CommandParams,
  type NotificationName,
  type NotificationParams,
  type RequestName,
  type RequestParams,
  type RequestResult,
  type WebviewProtocol,
} from "../../../protocol/webview/envelope";
import { HostRequestError } from "./host-request-error";
import type { VsCodeApi } from "./vscode-api";

// The protocol's shape and its type helpers are defined with the envelopes, shared with the host.
export type {
  CommandName,
  CommandParams,
  NotificationName,
  NotificationParams,
  RequestName,
  RequestParams,
  RequestResult,
  WebviewProtocol,
} from "../../../protocol/webview/envelope";

export interface RequestOptions {
  /** How long to wait for the host's answer before failing with code "timeout". */
  timeoutMs?: number;
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

interface PendingRequest {
  method: string;
  resultSchema: z.ZodType;
  resolve(result: unknown): void;
  reject(error: HostRequestError): void;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * The webview's one channel to the extension host: typed requests (answered by id, with a timeout),
 * commands (fire and forget) and notifications (host → webview). Everything that arrives is checked
 * against the protocol's schemas before any handler sees it; what does not fit is dropped.
 * Components get this object instead of ever calling postMessage themselves.
 */
export class HostBridge<Protocol extends WebviewProtocol> {
  private nextRequestId = 1;
  private readonly pendingRequests = new Map<number, PendingRequest>();
  private readonly notificationHandlers = new Map<string, Set<(params: unknown) => void>>();
  private readonly onWindowMessage = (event: MessageEvent): void => this.receive(event.data);

  constructor(
    private readonly protocol: Protocol,
    private readonly api: VsCodeApi,
    private readonly target: Pick<Window, "addEventListener" | "removeEventListener"> = window,
  ) {
    this.target.addEventListener("message", this.onWindowMessage);
  }

  request<Name extends RequestName<Protocol>>(
    method: Name,
    params: RequestParams<Protocol, Name>,
    options: RequestOptions = {},
  ): Promise<RequestResult<Protocol, Name>> {
    const definition = this.protocol.requests[method];
    const checkedParams = definition.params.safeParse(params);
    if (!checkedParams.success) {
      return Promise.reject(new HostRequestError("validation_failed", checkedParams.error.issues[0]?.message ?? "Invalid request"));
    }
    const id = this.nextRequestId++;
    const timeoutMs = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    return new Promise<RequestResult<Protocol, Name>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pendingRequests.delete(id);
        reject(new HostRequestError("timeout", `No answer to ${method} within ${timeoutMs} ms`, true));
      }, timeoutMs);
      this.pendingRequests.set(id, {
        method,
        resultSchema: definition.result,
        resolve: resolve as (result: unknown) => void,
        reject,
        timer,
      });
      this.api.postMessage({ kind: "request", id, method, params: checkedParams.data });
    });
  }

  command<Name extends CommandName<Protocol>>(method: Name, params: CommandParams<Protocol, Name>): void {
    const checkedParams = this.protocol.commands[method].safeParse(params);
    if (!checkedParams.success) {
      // A command the host would reject anyway; a bug in this view, so say so where developers look.
      console.error(`Not sending ${method}: ${checkedParams.error.message}`);
      return;
    }
    this.api.postMessage({ kind: "command", method, params: checkedParams.data });
  }

  /** Calls the handler with each valid notification of that name; returns a function that unsubscribes. */
  onNotification<Name extends NotificationName<Protocol>>(
    method: Name,
    handler: (params: NotificationParams<Protocol, Name>) => void,
  ): () => void {
    let handlers = this.notificationHandlers.get(method);
    if (!handlers) {
      handlers = new Set();
      this.notificationHandlers.set(method, handlers);
    }
    const untypedHandler = handler as (params: unknown) => void;
    handlers.add(untypedHandler);
    return () => handlers.delete(untypedHandler);
  }

  /** The state VS Code kept for this view, if it still has the shape the schema expects. */
  getState<State>(schema: z.ZodType<State>): State | undefined {
    const parsed = schema.safeParse(this.api.getState());
    return parsed.success ? parsed.data : undefined;
  }

  setState(state: unknown): void {
    this.api.setState(state);
  }

  dispose(): void {
    this.target.removeEventListener("message", this.onWindowMessage);
    for (const [id, pending] of this.pendingRequests) {
      clearTimeout(pending.timer);
      pending.reject(new HostRequestError("timeout", `The view closed before ${pending.method} was answered`));
      this.pendingRequests.delete(id);
    }
    this.notificationHandlers.clear();
  }

  private receive(data: unknown): void {
    const envelope = hostToWebviewSchema.safeParse(data);
    if (!envelope.success) {
      console.warn("Ignored a message that is not a host envelope", data);
      return;
    }
    const message = envelope.data;
    if (message.kind === "response") {
      const pending = this.pendingRequests.get(message.id);
      if (!pending) return; // answered after its timeout: the caller already gave up
      this.pendingRequests.delete(message.id);
      clearTimeout(pending.timer);
      if (!message.ok) {
        pending.reject(new HostRequestError(message.error.code, message.error.message, message.error.retryable ?? false));
        return;
      }
      const result = pending.resultSchema.safeParse(message.result);
      if (result.success) pending.resolve(result.data);
      else pending.reject(new HostRequestError("invalid_response", `Invalid answer to ${pending.method}: ${result.error.message}`));
      return;
    }
    if (!Object.hasOwn(this.protocol.notifications, message.method)) {
      console.warn(`Ignored unknown notification ${message.method}`);
      return;
    }
    const params = this.protocol.notifications[message.method].safeParse(message.params);
    if (!params.success) {
      console.warn(`Ignored invalid ${message.method} notification: ${params.error.message}`);
      return;
    }
    for (const handler of this.notificationHandlers.get(message.method) ?? []) {
      try {
        handler(params.data);
      } catch (error) {
        // One failing handler must not keep the others from seeing the notification.
        console.error(`Handler of ${message.method} failed`, error);
      }
    }
  }
}
