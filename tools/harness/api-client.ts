export interface ApiResponse {
  status: number;
  headers: Headers;
  body: any;
}

export type ApiRequest = (
  method: string,
  apiPath: string,
  options?: { body?: unknown; token?: string; headers?: Record<string, string>; rawBody?: string },
) => Promise<ApiResponse>;

/** A team server's address and JSON requests under /api/v1: what a client of the API needs. */
export interface ApiClient {
  url: string;
  /** JSON request under /api/v1; never throws on an error status. */
  request: ApiRequest;
}

/** JSON requests to the team server (or the load balancer in front of several) at `url`. */
export function createApiClient(url: string): ApiClient {
  const request: ApiRequest = async (method, apiPath, requestOptions = {}) => {
    const headers: Record<string, string> = { ...requestOptions.headers };
    let body: string | undefined = requestOptions.rawBody;
    if (requestOptions.body !== undefined) {
      headers["content-type"] = "application/json";
      body = JSON.stringify(requestOptions.body);
    }
    if (requestOptions.token) headers.authorization = `Bearer ${requestOptions.token}`;
    const response = await fetch(`${url}/api/v1${apiPath}`, { method, headers, body });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text.length > 0 ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: keep the text so a test can show it
    }
    return { status: response.status, headers: response.headers, body: parsed };
  };
  return { url, request };
}
