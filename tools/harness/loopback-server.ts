import type http from "node:http";
import type { AddressInfo } from "node:net";

/** Starts `server` on a free loopback port and returns its http URL (no trailing slash). */
export async function listenOnLoopback(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Closes `server` and every connection still open to it, keep-alive ones included. */
export async function closeLoopbackServer(server: http.Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}
