/**
 * The part of the web platform that protocol code may use: it runs in Node (server, extension host)
 * and in the browser (webview), and both have the WHATWG URL parser. Declared here because the
 * protocol project has neither Node's types nor the DOM's.
 */
declare class URL {
  constructor(url: string, base?: string | URL);
  readonly protocol: string;
  readonly hostname: string;
  readonly pathname: string;
  readonly search: string;
  readonly hash: string;
  readonly username: string;
  readonly password: string;
  readonly href: string;
  toString(): string;
}
