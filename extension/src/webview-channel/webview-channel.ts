import type { ErrorDetail } from "../../../protocol/http/error-codes";
import {
  webviewToHostSchema,
  type CommandName,
  type HostToWebviewEnvelope,
  type NotificationName,
  type NotificationParams,
  type RequestName,
  type RequestResult,
  type ValidatedCommandParams,
  type ValidatedRequestParams,
  type WebviewProtocol,
} from "../../../protocol/webview/envelope";
import { TeamServerError } from "../server-client/team-server-error";

export type RequestHandlers<Protocol extends WebviewProtocol> = {
  [Name in RequestName<Protocol>]: (params: ValidatedRequestParams<Protocol, Name>) => Promise<RequestResult<Protocol, Name>>;
};
export type CommandHandlers<Protocol extends WebviewProtocol> = {
  [Name in CommandName<Protocol>]: (params: ValidatedCommandParams<Protocol, Name>) => void | Promise<void>;
};

export interface WebviewChannelOptions<Protocol extends WebviewProtocol> {
  protocol: Protocol;
  /** Posts one envelope to the webview (VS Code drops it while the webview is hidden). */
  post(envelope: HostToWebviewEnvelope<NotificationName<Protocol>>): void;
  requests: RequestHandlers<Protocol>;
  commands: CommandHandlers<Protocol>;
  /** Where problems that reach no user go (the output channel in VS Code). */
  log?(message: string, error?: unknown): void;
  /** A command failed: commands have no answer, so the owner shows the problem where the user looks. */
  onCommandFailed?(name: CommandName<Protocol>, error: unknown): void;
  /** Runs right before anything is posted, so the owner can post what it holds back first (the chat's batched text). */
  beforePost?(): void;
}

/**
 * The host's side of one webview, the twin of the webview's HostBridge: everything the webview
 * sends is checked against the view's protocol before a handler sees it; a request is answered by
 * id with the handler's result or an error in the protocol's shape (unknown names `not_found`, bad
 * params `validation_failed`); a command runs its handler, and a bad one is only logged (it has no
 * answer to carry an error). Notifications go out typed.
 */
export class WebviewChannel<Protocol extends WebviewProtocol> {
  private isDisposed = false;

  constructor(private readonly options: WebviewChannelOptions<Protocol>) {}

  async handleMessage(message: unknown): Promise<void> {
    const envelope = webviewToHostSchema.safeParse(message);
    if (!envelope.success) {
      this.options.log?.("Ignored a malformed message from a webview");
      return;
    }
    const { method, params } = envelope.data;
    const { protocol } = this.options;
    if (envelope.data.kind === "request") {
      const id = envelope.data.id;
      if (!Object.hasOwn(protocol.requests, method)) {
        this.respond(id, { ok: false, error: { code: "not_found", message: `Unknown request ${method}` } });
        return;
      }
      const parsed = protocol.requests[method]!.params.safeParse(params);
      if (!parsed.success) {
        this.respond(id, { ok: false, error: { code: "validation_failed", message: describeValidationError(parsed.error) } });
        return;
      }
      try {
        const handler = this.options.requests[method as RequestName<Protocol>] as (params: unknown) => Promise<unknown>;
        this.respond(id, { ok: true, result: await handler(parsed.data) });
      } catch (error) {
        this.respond(id, { ok: false, error: toErrorDetail(error) });
      }
      return;
    }
    if (!Object.hasOwn(protocol.commands, method)) {
      this.options.log?.(`Ignored an unknown command from a webview: ${method}`);
      return;
    }
    const parsed = protocol.commands[method]!.safeParse(params);
    if (!parsed.success) {
      this.options.log?.(`Ignored an invalid ${method} command: ${describeValidationError(parsed.error)}`);
      return;
    }
    const name = method as CommandName<Protocol>;
    try {
      const handler = this.options.commands[name] as (params: unknown) => void | Promise<void>;
      await handler(parsed.data);
    } catch (error) {
      this.options.log?.(`The ${method} command failed`, error);
      this.options.onCommandFailed?.(name, error);
    }
  }

  notify<Name extends NotificationName<Protocol>>(method: Name, params: NotificationParams<Protocol, Name>): void {
    this.post({ kind: "notification", method, params });
  }

  /** Posts as it is, without running beforePost (for what the owner flushes from beforePost itself). */
  notifyAsIs<Name extends NotificationName<Protocol>>(method: Name, params: NotificationParams<Protocol, Name>): void {
    this.send({ kind: "notification", method, params });
  }

  dispose(): void {
    this.isDisposed = true;
  }

  private respond(id: number, outcome: { ok: true; result: unknown } | { ok: false; error: ErrorDetail }): void {
    this.post(
      outcome.ok ? { kind: "response", id, ok: true, result: outcome.result } : { kind: "response", id, ok: false, error: outcome.error },
    );
  }

  private post(envelope: HostToWebviewEnvelope<NotificationName<Protocol>>): void {
    this.options.beforePost?.();
    this.send(envelope);
  }

  private send(envelope: HostToWebviewEnvelope<NotificationName<Protocol>>): void {
    if (this.isDisposed) return;
    try {
      this.options.post(envelope);
    } catch {
      // The webview was disposed between our check and the post; nothing to deliver to.
    }
  }
}

/** The protocol's error shape for anything thrown while handling a webview request. */
export function toErrorDetail(error: unknown): ErrorDetail {
  if (error instanceof TeamServerError) return error.toDetail();
  return { code: "internal_error", message: error instanceof Error ? error.message : String(error) };
}

function describeValidationError(error: { issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }> }): string {
  return error.issues
    .map((issue) => (issue.path.length > 0 ? `${issue.path.map(String).join(".")}: ${issue.message}` : issue.message))
    .join("; ");
}
