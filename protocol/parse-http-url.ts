/**
 * The one test of "an http: or https: address", shared by the server (configuration, provider base
 * URLs), the extension host (server address, links it opens) and the webview (links it renders,
 * the base URL field).
 *
 * Only http and https: a link in a model's answer is untrusted, and the host opens exactly what the
 * webview shows as a link. `mailto:` is refused on both sides (an answer could prefill a message
 * to anyone); javascript:, command:, file:, data:, vscode: … are never links. An e-mail address in
 * an answer stays plain text the user can copy.
 *
 * Parsed with the platform's own URL parser (WHATWG, the same in Node and the webview), so tricks
 * such as tabs inside "java\tscript:" or leading control characters are judged exactly as
 * navigation would judge them. Surrounding white space is ignored; relative addresses are refused.
 */
export function parseHttpUrl(text: string): URL | undefined {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    return undefined;
  }
  return url.protocol === "http:" || url.protocol === "https:" ? url : undefined;
}

export function isHttpUrl(text: string): boolean {
  return parseHttpUrl(text) !== undefined;
}
