// Server-sent events read with fetch, so the token travels in the
// Authorization header and never in a URL (EventSource cannot set headers,
// and a URL ends up in access logs). The stream is parsed by the rules of
// the HTML standard's text/event-stream; a dropped stream is reopened with
// growing, jittered waits, sending Last-Event-ID when the server gave ids.

const MAX_WAIT_MS = 30_000;

/** Feed it text as it arrives; it calls `dispatch({type, data, id})` per event. */
export class EventParser {
  constructor(dispatch) {
    this.dispatch = dispatch;
    this.buffer = '';
    this.afterCR = false;
    this.type = '';
    this.data = [];
    this.lastId = '';
    this.retry = null; // the server's reconnection time, in ms, once it sent one
  }

  push(chunk) {
    if (!chunk) return;
    // A \r\n may be cut between two chunks: its \n ends no second line.
    const text = this.afterCR && chunk.startsWith('\n') ? chunk.slice(1) : chunk;
    this.afterCR = chunk.endsWith('\r');
    const lines = (this.buffer + text).split(/\r\n|\r|\n/);
    this.buffer = lines.pop();
    for (const line of lines) this._line(line);
  }

  _line(line) {
    if (line === '') {
      if (this.data.length) {
        this.dispatch({ type: this.type || 'message', data: this.data.join('\n'), id: this.lastId });
      }
      this.type = '';
      this.data = [];
      return;
    }
    if (line.startsWith(':')) return; // a comment: keep-alives
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.type = value;
    else if (field === 'id' && !value.includes('\0')) this.lastId = value;
    else if (field === 'retry' && /^\d+$/.test(value)) this.retry = Number(value);
  }
}

/**
 * An event stream at `url`, authorized by `token`, kept open until close().
 * `on[type]` handles events of that type; `onOpen` runs on every (re)connection
 * (a consumer re-reads what it may have missed); `onFail(status)` once the server
 * refuses the token (401/403): retrying would not help.
 */
export class EventStream {
  constructor(url, token, { on = {}, onOpen = () => {}, onFail = () => {}, fetchImpl } = {}) {
    this.url = url;
    this.token = token;
    this.on = on;
    this.onOpen = onOpen;
    this.onFail = onFail;
    this.fetch = fetchImpl ?? ((...args) => globalThis.fetch(...args));
    this.base = 1000; // ms; the server's `retry:` replaces it
    this.failures = 0;
    this.lastId = '';
    this.aborter = null;
    this.closed = false;
  }

  start() {
    this._run();
    return this;
  }

  close() {
    this.closed = true;
    this.aborter?.abort();
  }

  async _run() {
    while (!this.closed) {
      const status = await this._once();
      if (this.closed) return;
      if (status === 401 || status === 403) {
        this.onFail(status);
        return;
      }
      this.failures += 1;
      const wait = Math.min(MAX_WAIT_MS, this.base * 2 ** (this.failures - 1));
      await new Promise((resolve) => { setTimeout(resolve, wait / 2 + Math.random() * wait / 2); });
    }
  }

  /** One connection, read to its end: the refusing status, or 0 once it dropped. */
  async _once() {
    this.aborter = new AbortController();
    const headers = { authorization: `Bearer ${this.token}`, accept: 'text/event-stream' };
    if (this.lastId) headers['last-event-id'] = this.lastId;
    try {
      const response = await this.fetch(this.url, { headers, signal: this.aborter.signal, cache: 'no-store' });
      if (!response.ok || !response.body) return response.status;
      const parser = new EventParser((event) => {
        this.lastId = event.id;
        this.on[event.type]?.(event);
      });
      this.failures = 0;
      this.onOpen();
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        parser.push(value);
        if (parser.retry !== null) this.base = parser.retry;
      }
    } catch { /* dropped, or closed: the loop decides */ }
    return 0;
  }
}
