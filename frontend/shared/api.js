// HTTP calls with a bearer token: a staff token on staff pages, a room token
// for a room's files. Never the API key.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** The name a download is saved under, from its Content-Disposition (RFC 6266 `filename*`):
 * the server's, whose extension fits the file's real type. Null if there is none. */
export function savedName(response) {
  const disposition = response.headers.get('content-disposition') || '';
  const match = /filename\*=UTF-8''([^;]+)/i.exec(disposition);
  if (!match) return null;
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return null;
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
    if (as === 'download') return { blob: await response.blob(), name: savedName(response) };
    if (as === 'text') return response.text();
    return response.json();
  }

  get(path, options) { return this.request('GET', path, undefined, options); }

  post(path, body = {}) { return this.request('POST', path, body); }

  delete(path, body = undefined) { return this.request('DELETE', path, body); }
}
