// HTTP calls with a bearer token: a staff token on staff pages, a room token
// for a room's files. Never the API key.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export class Api {
  constructor(token, base = '') {
    this.token = token;
    this.base = base;
  }

  async request(method, path, body = undefined, { as = 'json' } = {}) {
    const headers = { authorization: `Bearer ${this.token}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response;
    try {
      response = await fetch(this.base + path, {
        method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (exc) {
      throw new ApiError(0, 'unavailable', String(exc.message || exc));
    }
    if (!response.ok) {
      let code = 'other';
      let message = response.statusText;
      try {
        const detail = (await response.json()).error;
        code = detail.code;
        message = detail.message;
      } catch { /* not JSON */ }
      throw new ApiError(response.status, code, message);
    }
    if (as === 'bytes') return new Uint8Array(await response.arrayBuffer());
    if (as === 'blob') return response.blob();
    if (as === 'text') return response.text();
    return response.json();
  }

  get(path, options) { return this.request('GET', path, undefined, options); }

  post(path, body = {}) { return this.request('POST', path, body); }

  delete(path, body = undefined) { return this.request('DELETE', path, body); }
}
