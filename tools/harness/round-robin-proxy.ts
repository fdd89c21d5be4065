import http from "node:http";
import type { AddressInfo } from "node:net";

export interface RoundRobinProxy {
  url: string;
  /** How many requests each upstream received, in the order given. */
  readonly requestCounts: number[];
  close(): Promise<void>;
}

/**
 * A small load balancer for tests and benchmarks: each request goes to the next upstream in turn.
 * The request body is read first (the API's bodies are small JSON), so that a request an upstream
 * refuses at connect (a killed instance) is sent to the next one instead, like a load balancer's
 * passive health check. Responses pass through unbuffered (server-sent events flow as written);
 * a client that goes away ends the upstream request, and an upstream that dies mid-response ends
 * the client's response abruptly, as a real proxy would.
 */
export async function startRoundRobinProxy(upstreams: readonly string[]): Promise<RoundRobinProxy> {
  const targets = upstreams.map((upstream) => new URL(upstream));
  const requestCounts = targets.map(() => 0);
  let next = 0;
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });

  const forward = (
    incoming: http.IncomingMessage,
    outgoing: http.ServerResponse,
    body: Buffer,
    attemptsLeft: number,
    index: number,
  ): void => {
    const target = targets[index]!;
    const headers = { ...incoming.headers, host: target.host, "x-forwarded-for": incoming.socket.remoteAddress ?? "" };
    delete headers.connection;
    const upstream = http.request(
      { host: target.hostname, port: target.port, method: incoming.method, path: incoming.url, headers, agent },
      (response) => {
        requestCounts[index]! += 1;
        outgoing.writeHead(response.statusCode ?? 502, response.headers);
        outgoing.flushHeaders();
        response.on("data", (chunk: Buffer) => outgoing.write(chunk));
        response.on("end", () => outgoing.end());
        // the upstream died mid-response: the client sees its connection cut
        response.on("aborted", () => outgoing.destroy());
        response.on("error", () => outgoing.destroy());
      },
    );
    let hasResponse = false;
    upstream.on("response", () => (hasResponse = true));
    upstream.on("error", (error: NodeJS.ErrnoException) => {
      if (hasResponse) {
        outgoing.destroy();
        return;
      }
      const isRefused = error.code === "ECONNREFUSED" || error.code === "ECONNRESET";
      if (isRefused && attemptsLeft > 1) {
        forward(incoming, outgoing, body, attemptsLeft - 1, (index + 1) % targets.length);
        return;
      }
      if (!outgoing.headersSent) {
        outgoing.writeHead(502, { "content-type": "application/json" });
        outgoing.end(JSON.stringify({ error: { code: "bad_gateway", message: `no upstream answered: ${error.message}` } }));
      } else outgoing.destroy();
    });
    outgoing.on("close", () => {
      if (!outgoing.writableFinished) upstream.destroy();
    });
    upstream.end(body);
  };

  const server = http.createServer((incoming, outgoing) => {
    const chunks: Buffer[] = [];
    incoming.on("data", (chunk: Buffer) => chunks.push(chunk));
    incoming.on("end", () => {
      const index = next;
      next = (next + 1) % targets.length;
      forward(incoming, outgoing, Buffer.concat(chunks), targets.length, index);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requestCounts,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}
