import assert from "node:assert/strict";
import { isHttpUrl, parseHttpUrl } from "../../protocol/parse-http-url";

/**
 * The URL check all three sides use: the server's configuration and provider base URLs, the
 * extension's server address and the links it opens, the webview's links and base URL field.
 */
describe("parseHttpUrl (protocol)", () => {
  it("accepts absolute http and https addresses, in any case, ignoring surrounding white space", () => {
    assert.equal(parseHttpUrl("https://example.com/a b?q=1#top")?.href, "https://example.com/a%20b?q=1#top");
    assert.equal(parseHttpUrl("HTTP://LOCALHOST:11434")?.href, "http://localhost:11434/");
    assert.equal(parseHttpUrl("  http://127.0.0.1:8080/api \n")?.href, "http://127.0.0.1:8080/api");
    assert.equal(parseHttpUrl("https://user:secret@proxy.example/v1")?.protocol, "https:");
    assert.equal(isHttpUrl("https://[::1]:8080"), true);
    // the WHATWG parser (navigation's own) reads a missing "//" as the same https address
    assert.equal(parseHttpUrl("https:example.com/path")?.href, "https://example.com/path");
  });

  it("refuses mailto: (the host would not open it, so the webview does not link it)", () => {
    assert.equal(parseHttpUrl("mailto:team@example.com"), undefined);
    assert.equal(isHttpUrl("MAILTO:team@example.com?subject=hi&body=secret"), false);
  });

  it("refuses every other scheme, relative addresses and scheme tricks", () => {
    for (const text of [
      "javascript:alert(1)",
      "JAVASCRIPT:alert(1)",
      " java\tscript:alert(1)",
      "\u0001javascript:alert(1)",
      "java\nscript:alert(1)",
      "data:text/html,<script>alert(1)</script>",
      "vbscript:msgbox",
      "file:///etc/passwd",
      "command:workbench.action.terminal.new",
      "vscode://vscode.git/clone?url=x",
      "ftp://example.com",
      "ws://example.com",
      "/relative/path",
      "//example.com/protocol-relative",
      "#top",
      "example.com",
      "http://",
      "",
      "   ",
    ]) {
      assert.equal(parseHttpUrl(text), undefined, JSON.stringify(text));
    }
  });
});
