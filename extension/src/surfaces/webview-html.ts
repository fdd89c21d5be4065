/**
 * The HTML of the Juggler webviews, as plain strings: no DOM dependency, so the extension host
 * imports it. Everything is loaded from the bundle's folder (`cspSource`) under a strict CSP:
 * no inline script or style without the nonce, no eval, no network, images only from the bundle.
 */
export interface WebviewHtmlOptions {
  /** `webview.cspSource`: the origin the webview's own resources are served from. */
  cspSource: string;
  /** A fresh random nonce for every render (base64 or hex). */
  nonce: string;
  /** `asWebviewUri` of the page's script (dist/webview/chat.js or team-settings.js). */
  scriptUri: string;
  /** `asWebviewUri` of the page's stylesheet (dist/webview/chat.css or team-settings.css). */
  styleUri: string;
  /** `asWebviewUri` of dist/webview/codicon.css (codicon.ttf beside it). */
  codiconUri: string;
}

const NONCE_PATTERN = /^[A-Za-z0-9+/=_-]{16,128}$/;

export function buildContentSecurityPolicy(cspSource: string, nonce: string): string {
  assertSafeCspSource(cspSource);
  assertNonce(nonce);
  return [
    "default-src 'none'",
    `style-src ${cspSource} 'nonce-${nonce}'`,
    `script-src 'nonce-${nonce}'`,
    `font-src ${cspSource}`,
    `img-src ${cspSource} data:`,
  ].join("; ");
}

export function renderChatHtml(options: WebviewHtmlOptions): string {
  return renderPage(options, { title: "Juggler Chat", bodyClass: "juggler-chat" });
}

export function renderTeamSettingsHtml(options: WebviewHtmlOptions): string {
  return renderPage(options, { title: "Juggler Team Settings", bodyClass: "juggler-team-settings" });
}

export function renderUsageHtml(options: WebviewHtmlOptions): string {
  return renderPage(options, { title: "Juggler Usage", bodyClass: "juggler-usage" });
}

/** Escapes text for an HTML attribute value or text content. */
export function escapeHtml(value: string): string {
  return value.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;").replaceAll("'", "&#39;");
}

function renderPage(options: WebviewHtmlOptions, page: { title: string; bodyClass: string }): string {
  const csp = buildContentSecurityPolicy(options.cspSource, options.nonce);
  const nonce = escapeHtml(options.nonce);
  // The codicon stylesheet's id is what vscode-elements' <vscode-icon> looks for: it links the same
  // stylesheet inside each icon's shadow root, because @font-face does not cross into shadow DOM styles.
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" id="vscode-codicon-stylesheet" href="${escapeHtml(options.codiconUri)}" nonce="${nonce}">
<link rel="stylesheet" href="${escapeHtml(options.styleUri)}" nonce="${nonce}">
<title>${escapeHtml(page.title)}</title>
</head>
<body class="${escapeHtml(page.bodyClass)}">
<div id="app"></div>
<script nonce="${nonce}" src="${escapeHtml(options.scriptUri)}"></script>
</body>
</html>
`;
}

function assertNonce(nonce: string): void {
  // The nonce lands inside the CSP and attributes: anything but a plain token would break both.
  if (!NONCE_PATTERN.test(nonce)) throw new Error("The nonce must be 16–128 characters of base64 or hex");
}

function assertSafeCspSource(cspSource: string): void {
  // A source list (VS Code's may be "'self' https://*.vscode-cdn.net"): nothing that could end the
  // directive, start another policy or leave the attribute.
  if (cspSource.trim().length === 0 || /[;,"<>\r\n]/.test(cspSource)) throw new Error(`Not a valid CSP source: ${cspSource}`);
}
