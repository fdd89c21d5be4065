import type { OutgoingHttpHeaders } from "node:http";
import { isMidStreamFault, type FaultEndpoint, type FaultPlan, type FaultSpec } from "./fault-plan";
import type { FakeExchange } from "./start-fake-server";

/** An HTTP error exactly as one provider sends it. */
export interface ProviderErrorResponse {
  status: number;
  body: unknown;
  headers?: OutgoingHttpHeaders;
}

/** How one provider turns a fault into its own HTTP error. */
export interface FaultResponder {
  errorResponseFor(fault: FaultSpec): ProviderErrorResponse;
  /** The provider's JSON content type, for the cut-off body of `malformed-chunk`. */
  jsonContentType: string;
}

/**
 * Answers a request with a fault instead of a normal response. HTTP-level faults use the provider's
 * error (`errorResponseFor`). Mid-stream faults on a request that is not streamed become their
 * closest non-streaming form: `overloaded-mid-stream` the provider's overloaded error,
 * `reset-mid-stream` a cut connection, `stall` no answer at all, `malformed-chunk` a cut-off JSON body.
 */
export async function respondWithFault(exchange: FakeExchange, fault: FaultSpec, provider: FaultResponder): Promise<void> {
  exchange.record.fault = fault.fault;
  switch (fault.fault) {
    case "reset-mid-stream":
      await exchange.resetConnection();
      return;
    case "stall":
      await exchange.waitUntilClosed();
      return;
    case "malformed-chunk":
      exchange.sendText(200, '{"id":"fake-cut-off","content":[{"type":"te', {}, provider.jsonContentType);
      return;
    default: {
      const error = provider.errorResponseFor(fault);
      exchange.sendJson(error.status, error.body, error.headers, provider.jsonContentType);
    }
  }
}

/**
 * Gives a request the fault planned for it when that fault fails the whole request: any fault on a
 * models endpoint, an HTTP-level one (401, 429, 529 …) on chat. A chat request's mid-stream fault is
 * left pending and returned, so the caller consumes it only once the request proved valid and plays
 * it during the stream.
 */
export async function respondWithPlannedFault(
  exchange: FakeExchange,
  faults: FaultPlan,
  endpoint: FaultEndpoint,
  model: string | undefined,
  provider: FaultResponder,
): Promise<{ isAnswered: true } | { isAnswered: false; midStreamFault: FaultSpec | undefined }> {
  const fault = faults.peek(endpoint, model);
  if (fault && (endpoint !== "chat" || !isMidStreamFault(fault.fault))) {
    faults.consume(fault);
    await respondWithFault(exchange, fault, provider);
    return { isAnswered: true };
  }
  return { isAnswered: false, midStreamFault: fault };
}
