import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import type { WebviewBundles } from "./build-webview-bundles";
import { darkModernStylesheet } from "./dark-modern-theme";

const CONTENT_TYPES: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".ttf": "font/ttf",
  ".html": "text/html; charset=utf-8",
};

/**
 * A tiny local web server for the harness pages: like VS Code's webview resource server, it serves
 * the bundle folder from one origin (the page's `cspSource`), plus the theme variables and the
 * generated pages. Loopback only.
 */
export class HarnessServer {
  private readonly pages = new Map<string, string>();
  private nextPageNumber = 1;

  private constructor(
    private readonly server: Server,
    readonly origin: string,
  ) {}

  static async start(bundles: WebviewBundles): Promise<HarnessServer> {
    // Requests arrive only after listen(), by which time `harness` exists.
    const server = createServer((request, response) => {
      void harness.serve(bundles, request.url ?? "/").then(
        (answer) => {
          // Browsers ask for a favicon; VS Code's webviews never do. Answer quietly.
          if (request.url === "/favicon.ico") {
            response.writeHead(204).end();
            return;
          }
          if (!answer) {
            response.writeHead(404).end();
            return;
          }
          response.writeHead(200, { "content-type": answer.contentType, "cache-control": "no-store" }).end(answer.body);
        },
        () => response.writeHead(500).end(),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    const harness = new HarnessServer(server, `http://127.0.0.1:${port}`);
    return harness;
  }

  /** Serves this HTML at a new URL and returns the URL. */
  addPage(html: string): string {
    const pathname = `/pages/${this.nextPageNumber++}.html`;
    this.pages.set(pathname, html);
    return `${this.origin}${pathname}`;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async serve(bundles: WebviewBundles, url: string): Promise<{ contentType: string; body: string | Buffer } | undefined> {
    const pathname = new URL(url, this.origin).pathname;
    const page = this.pages.get(pathname);
    if (page !== undefined) return { contentType: CONTENT_TYPES[".html"]!, body: page };
    if (pathname === "/theme/dark-modern-sidebar.css")
      return { contentType: CONTENT_TYPES[".css"]!, body: darkModernStylesheet("sidebar") };
    if (pathname === "/theme/dark-modern-editor.css") return { contentType: CONTENT_TYPES[".css"]!, body: darkModernStylesheet("editor") };
    if (pathname.startsWith("/bundle/")) {
      const fileName = path.basename(pathname);
      const contentType = CONTENT_TYPES[path.extname(fileName)];
      if (!contentType) return undefined;
      try {
        return { contentType, body: await readFile(path.join(bundles.directory, fileName)) };
      } catch {
        return undefined;
      }
    }
    return undefined;
  }
}
