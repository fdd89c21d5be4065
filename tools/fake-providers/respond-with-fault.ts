import type { OutgoingHttpHeaders } from 'node:http';
import type { FaultSpec } from './fault-plan';
import type { FakeExchange } from './start-fake-server';

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
export async function respondWithFault(
  exchange: FakeExchange,
  fault: FaultSpec,
  provider: FaultResponder,
): Promise<void> {
  exchange.record.fault = fault.fault;
  switch (fault.fault) {
    case 'reset-mid-stream':
      await exchange.resetConnection();
      return;
    case 'stall':
      await exchange.waitUntilClosed();
      return;
    case 'malformed-chunk':
      exchange.sendText(200, '{"id":"fake-cut-off","content":[{"type":"te', {}, provider.jsonContentType);
      return;
    default: {
      const error = provider.errorResponseFor(fault);
      exchange.sendJson(error.status, error.body, error.headers, provider.jsonContentType);
    }
  }
}
