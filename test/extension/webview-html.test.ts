import assert from "node:assert/strict";
import { buildContentSecurityPolicy, renderChatHtml, renderTeamSettingsHtml } from "../../extension/src/surfaces/webview-html";

const options = {
  cspSource: "'self' https://*.vscode-cdn.net",
  nonce: "r4nd0mN0nc3VALUE1234567",
  scriptUri: "https://file+.vscode-resource.vscode-cdn.net/ext/dist/webview/chat.js",
  styleUri: "https://file+.vscode-resource.vscode-cdn.net/ext/dist/webview/chat.css",
  codiconUri: "https://file+.vscode-resource.vscode-cdn.net/ext/dist/webview/codicon.css",
};

describe("webview HTML (pure strings for the extension host)", () => {
  it("declares the strict policy: nothing but the bundle's origin and the nonce", () => {
    assert.equal(
      buildContentSecurityPolicy(options.cspSource, options.nonce),
      "default-src 'none'; style-src 'self' https://*.vscode-cdn.net 'nonce-r4nd0mN0nc3VALUE1234567'; " +
        "script-src 'nonce-r4nd0mN0nc3VALUE1234567'; font-src 'self' https://*.vscode-cdn.net; img-src 'self' https://*.vscode-cdn.net data:",
    );
  });

  it("links the bundle, its stylesheet and the codicon stylesheet under the id vscode-elements looks for", () => {
    const html = renderChatHtml(options);
    assert.match(html, /<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;; [^"]+">/);
    assert.match(html, new RegExp(`<script nonce="${options.nonce}" src="${escapeForPattern(options.scriptUri)}"></script>`));
    assert.match(html, new RegExp(`<link rel="stylesheet" href="${escapeForPattern(options.styleUri)}" nonce="${options.nonce}">`));
    assert.match(html, new RegExp(`<link rel="stylesheet" id="vscode-codicon-stylesheet" href="${escapeForPattern(options.codiconUri)}"`));
    assert.match(html, /<div id="app"><\/div>/);
    assert.doesNotMatch(html, /style="/, "no inline style attributes: the CSP would block them");
    assert.doesNotMatch(html, /<script(?![^>]*nonce=)/, "every script carries the nonce");
  });

  it("renders the Team Settings page the same way with its own title", () => {
    const html = renderTeamSettingsHtml({ ...options, scriptUri: "https://x/team-settings.js", styleUri: "https://x/team-settings.css" });
    assert.match(html, /<title>Juggler Team Settings<\/title>/);
    assert.match(html, /src="https:\/\/x\/team-settings.js"/);
  });

  it("escapes attribute values so a URI cannot break out of its attribute", () => {
    const html = renderChatHtml({ ...options, scriptUri: `https://x/a.js"><script>alert(1)</script>` });
    assert.doesNotMatch(html, /<script>alert/);
    assert.match(html, /src="https:\/\/x\/a.js&quot;&gt;&lt;script&gt;alert\(1\)&lt;\/script&gt;"/);
  });

  it("refuses a nonce or source that would change the policy", () => {
    assert.throws(() => renderChatHtml({ ...options, nonce: "abc" }), /nonce/);
    assert.throws(() => renderChatHtml({ ...options, nonce: "abcdefghijklmnop'; script-src *" }), /nonce/);
    assert.throws(() => renderChatHtml({ ...options, cspSource: "https://a; script-src 'unsafe-inline'" }), /CSP source/);
  });
});

function escapeForPattern(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
