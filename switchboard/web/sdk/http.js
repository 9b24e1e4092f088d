// REST client: JSON in, JSON out, RFC 9457 problem details turned into SwitchboardError.

/** An API error. `code` is the contract's stable machine-readable code (e.g. "user_busy"). */
export class SwitchboardError extends Error {
  constructor({ status = 0, code = "network_error", title = "", detail = "", errors = null }) {
    super(detail || title || code);
    this.name = "SwitchboardError";
    this.status = status;
    this.code = code;
    this.title = title;
    this.detail = detail;
    this.errors = errors;
  }
}

export class HttpClient {
  /**
   * @param {object} options
   * @param {string} options.baseUrl   "" for the same origin, or "https://calls.example.com"
   * @param {() => string|null} options.getToken
   * @param {(err: SwitchboardError) => void} [options.onUnauthorized]
   */
  constructor({ baseUrl, getToken, onUnauthorized }) {
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    this.getToken = getToken;
    this.onUnauthorized = onUnauthorized ?? (() => {});
  }

  url(path, query) {
    const url = new URL(this.baseUrl + path, globalThis.location?.href);
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined && value !== null && value !== "") {
        url.searchParams.set(key, String(value));
      }
    }
    return url.toString();
  }

  /** Sends a request; resolves to the parsed JSON body, rejects with SwitchboardError. */
  async request(method, path, { body, query, auth = true, signal } = {}) {
    const headers = { Accept: "application/json" };
    const token = this.getToken();
    if (auth && token) headers.Authorization = `Bearer ${token}`;
    const init = { method, headers, signal };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(this.url(path, query), init);
    } catch (err) {
      if (err?.name === "AbortError") throw err;
      throw new SwitchboardError({
        code: "network_error",
        title: "Network error",
        detail: "The server could not be reached.",
      });
    }
    const text = await response.text();
    let json = null;
    if (text) {
      try {
        json = JSON.parse(text);
      } catch {
        json = null;
      }
    }
    if (!response.ok) {
      const error = new SwitchboardError({
        status: response.status,
        code: json?.code ?? `http_${response.status}`,
        title: json?.title ?? response.statusText,
        detail: json?.detail ?? "",
        errors: json?.errors ?? null,
      });
      if (response.status === 401 && auth && token) this.onUnauthorized(error);
      throw error;
    }
    return json ?? {};
  }

  get(path, options) {
    return this.request("GET", path, options);
  }

  post(path, body, options) {
    return this.request("POST", path, { ...options, body });
  }

  patch(path, body, options) {
    return this.request("PATCH", path, { ...options, body });
  }

  delete(path, options) {
    return this.request("DELETE", path, options);
  }
}
