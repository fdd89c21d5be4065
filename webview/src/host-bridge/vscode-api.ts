/**
 * The API VS Code gives a webview's page. `acquireVsCodeApi()` may be called only once per page
 * (a second call throws), so this module is its only caller and hands out the one instance.
 */
export interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}

declare global {
  interface Window {
    acquireVsCodeApi?: () => VsCodeApi;
  }
}

let vsCodeApi: VsCodeApi | undefined;

export function getVsCodeApi(): VsCodeApi {
  if (vsCodeApi) return vsCodeApi;
  if (typeof window.acquireVsCodeApi !== "function") {
    throw new Error("acquireVsCodeApi is not available: this page must run inside a VS Code webview");
  }
  vsCodeApi = window.acquireVsCodeApi();
  return vsCodeApi;
}
