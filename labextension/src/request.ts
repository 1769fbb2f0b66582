/**
 * The one way the panel talks to the server extension: a typed JSON request below
 * `<base_url>/jupyter-mlops/api/`, with every error turned into an `MlopsApiError`.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/** Path segment of the REST API below the server's base URL. */
export const API_NAMESPACE = 'jupyter-mlops/api';

/** An error reply (`{error, message}`), a refused request or a network failure. */
export class MlopsApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string
  ) {
    super(message);
    this.name = 'MlopsApiError';
  }
}

/** Query parameters; `undefined` and `null` values are left out. */
export type Query = Record<string, string | number | null | undefined>;

/** `endpoint?query` with every value URL-encoded. */
export function endpointWithQuery(endpoint: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== '') {
      params.append(key, String(value));
    }
  }
  const text = params.toString();
  return text ? `${endpoint}?${text}` : endpoint;
}

/** Encode one path segment (a model name, a run id). */
export function segment(value: string): string {
  return encodeURIComponent(value);
}

/**
 * Call the API and decode its JSON reply.
 *
 * @throws MlopsApiError with the server's error code and message, or `network` / `bad_reply`.
 */
export async function requestAPI<T>(
  endpoint: string,
  init: RequestInit = {},
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<T> {
  const url = URLExt.join(settings.baseUrl, API_NAMESPACE, endpoint);
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new MlopsApiError(
      0,
      'network',
      `cannot reach the Jupyter server: ${(error as Error).message ?? error}`
    );
  }
  const text = await response.text();
  let data: unknown = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    const body = (data ?? {}) as { error?: string; message?: string };
    const message =
      body.message ??
      (response.status === 404
        ? 'the jupyter-mlops server extension does not answer (is it enabled?)'
        : `the server answered ${response.status} ${response.statusText}`);
    throw new MlopsApiError(response.status, body.error ?? 'http_error', message);
  }
  if (data === null && text) {
    throw new MlopsApiError(
      response.status,
      'bad_reply',
      'the server sent something other than JSON'
    );
  }
  return data as T;
}
