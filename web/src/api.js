// The REST client: JSON in and out, the bearer token on every call, one refresh when the access
// token has expired, and every failure as an ApiError {status, code, message}.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const kTimeoutMs = 20_000;

export class Api {
  /** `server`: the Parley origin ('' for the page's own). */
  constructor(server, session) {
    this.server = server.replace(/\/+$/, '');
    this.session = session;
    this.refreshing = null;
  }

  url(path) { return `${this.server}${path}`; }

  get(path) { return this.request('GET', path); }
  post(path, body = {}) { return this.request('POST', path, body); }
  delete(path) { return this.request('DELETE', path); }

  /** multipart/form-data: `fields` of strings and Blobs. */
  upload(path, fields) {
    const form = new FormData();
    for (const [name, value] of Object.entries(fields)) {
      if (value instanceof File) form.append(name, value, value.name);
      else form.append(name, value);
    }
    return this.request('POST', path, form);
  }

  /** A binary reply (audio) as a Blob. */
  async blob(method, path, body, accept) {
    const response = await this.#send(method, path, body, { accept });
    return response.blob();
  }

  async request(method, path, body) {
    const response = await this.#send(method, path, body, {});
    if (response.status === 204) return null;
    const text = await response.text();
    if (!text) return null;
    try {
      return JSON.parse(text);
    } catch {
      throw new ApiError(response.status, 'invalid_response', 'The server sent something unexpected.');
    }
  }

  /** Exchanges the refresh token for a new pair; one refresh at a time. Returns false when it cannot. */
  async refresh() {
    if (!this.session.refreshToken) return false;
    this.refreshing ??= (async () => {
      try {
        const tokens = await this.#fetch('POST', '/api/token/refresh',
          { refresh_token: this.session.refreshToken }, { auth: false });
        if (!tokens.ok) {
          if (tokens.status === 401 || tokens.status === 403) this.session.signOut();
          return false;
        }
        this.session.signIn(await tokens.json());
        return true;
      } catch {
        return false;
      } finally {
        this.refreshing = null;
      }
    })();
    return this.refreshing;
  }

  async #send(method, path, body, { accept }) {
    if (this.session.signedIn && this.session.expiresSoon()) await this.refresh();
    let response = await this.#fetch(method, path, body, { accept });
    if (response.status === 401 && this.session.signedIn && path !== '/api/login') {
      if (await this.refresh()) response = await this.#fetch(method, path, body, { accept });
    }
    if (!response.ok) throw await errorOf(response);
    return response;
  }

  async #fetch(method, path, body, { auth = true, accept } = {}) {
    const headers = {};
    if (auth && this.session.accessToken) headers.Authorization = `Bearer ${this.session.accessToken}`;
    if (accept) headers.Accept = accept;
    let payload;
    if (body instanceof FormData) {
      payload = body;
    } else if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    try {
      return await fetch(this.url(path), {
        method, headers, body: payload, signal: AbortSignal.timeout(kTimeoutMs),
      });
    } catch (error) {
      if (error?.name === 'TimeoutError') throw new ApiError(0, 'timeout', 'The server took too long to answer.');
      throw new ApiError(0, 'network', 'The server cannot be reached.');
    }
  }
}

async function errorOf(response) {
  let body = null;
  try { body = await response.json(); } catch { /* not JSON */ }
  const error = body?.error;
  return new ApiError(response.status, error?.code ?? `http_${response.status}`,
    error?.message ?? response.statusText ?? 'Request failed');
}
