// Client side of wire protocol v1 (see docs/protocol.md): one logical
// connection to one room that survives socket drops. It owns the protocol
// state (which seqs are held per channel, which sends are still unacked)
// and reports what happens through events. It never touches the DOM.
//
// Events (client.on(type, fn)):
//   status    {state: 'connecting'|'online'|'reconnecting'|'fatal', code?, message?}
//   welcome   the welcome frame
//   message   a message frame not seen before (someone else's, or ours from another device)
//   sending   an outgoing entry {id, channel, body, state, error, sentAt}, new or retried
//   delivered {entry, seq, message?}: our entry is committed at `seq`
//   failed    an entry the server refused; entry.error is the error frame
//   presence  a presence frame
//   notice    an error frame that belongs to no pending send
//   event     an event frame (proposal, state, caucus, ...) not seen before
//   typing    {user, role, channel} someone is typing (ephemeral, never stored)
//   expiring  {expiresAt, expired} the token runs out soon (or did): call setToken(fresh)
//   token     the server took a fresh token: {expires_at}
//
// `recent` (constructor option): the first hello asks the server to replay only the newest
// `recent` messages of each channel (every event still comes); the page reads earlier ones
// with `page(channel, before, limit)`, a promise of the `history` reply (docs/protocol.md).
//
// Besides messages (`send`), every other storing frame (propose, respond,
// transition, caucus, floor, transfer, rate) goes through `act`: the same
// outbox, the same retry with the same id, the same ack. The server does not
// echo an event to the socket that wrote it, so after the ack the client
// reads it back with one `history` request and reports it like anyone else's.
// Files are uploaded over HTTP, not this socket, so their `file` and
// `file_deleted` events reach the uploader's socket like anyone's.
//
// Rate limits: a `rate_limited` refusal is not a failure. The server refuses
// every later write too until the refused ones come back in order, so the
// client holds new writes, waits `retry_after_ms`, then resends in outbox
// order every entry from the first refused one on (docs/protocol.md §9).

export const SUBPROTOCOL = 'mediation.v1';

// After these close codes the same token can never get in: stop retrying.
const FATAL_CLOSES = new Set([4401, 4403, 4404]);
const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 10_000;
const RETRY_AFTER_MS = 1_000; // when a rate_limited refusal does not say
const EXPIRY_LEAD_MS = 60_000; // ask for a fresh token this long before expiry (at most)
const OPEN = 1; // WebSocket.OPEN, spelled out so a test double needs no constants

export function socketUrl(loc) {
  return `${loc.protocol === 'https:' ? 'wss' : 'ws'}://${loc.host}/ws`;
}

// crypto.randomUUID only exists in secure contexts (https or localhost); a
// server reached over plain http on a LAN address still needs unique ids.
export function newId() {
  if (globalThis.crypto?.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40; // version 4
  b[8] = (b[8] & 0x3f) | 0x80; // RFC 4122 variant
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Which seqs of one channel we hold; `upTo` is the contiguous prefix. */
class ChannelLog {
  constructor() {
    this.upTo = 0;
    this.ahead = new Set(); // held seqs above upTo + 1 (an ack can overtake a lower seq)
    this.base = 0; // the first replay left plain messages up to here out (hello `recent`)
  }

  has(seq) {
    return seq <= this.upTo || this.ahead.has(seq);
  }

  /** Record `seq`; false if it was already held (a duplicate). */
  add(seq) {
    if (this.has(seq)) return false;
    this.ahead.add(seq);
    // Past the cut of a `recent` replay, every event before it has come (the replay is in
    // seq order): what is left below is only messages, read with `history` when wanted.
    if (this.base > this.upTo && this.ahead.has(this.base + 1)) this.upTo = this.base;
    while (this.ahead.delete(this.upTo + 1)) this.upTo += 1;
    for (const held of this.ahead) if (held <= this.upTo) this.ahead.delete(held);
    return true;
  }
}

export class MediationClient {
  constructor({ url, room, token, recent = null, WebSocketImpl = globalThis.WebSocket }) {
    this.url = url;
    this.room = room;
    this.token = token;
    this.you = null; // {user, role} once welcomed
    this._WebSocket = WebSocketImpl;
    this._listeners = new Map();
    this._logs = new Map(); // channel -> ChannelLog
    this._outbox = new Map(); // id -> entry not yet acked (insertion order = send order)
    this._ws = null;
    this._joined = false; // welcome received on the current socket
    this._attempt = 0; // consecutive failed connections, for the backoff
    this._timer = null;
    this._stopped = false;
    this._silenced = false; // silence(): no listener hears anything more
    this._helloError = null; // error frame that explains the close that follows it
    this._resendTimer = null; // set while writes are held back after rate_limited
    this._reads = new Map(); // id -> pending `history` request reading our own event back
    this.recent = recent; // replay only this many messages per channel at the first hello
    this._recentSent = null; // `recent` of the current socket's hello, if any
    this._pages = new Map(); // id -> {resolve, reject} of a page asked for with page()
    this._pageCount = 0;
    this._expiryTimer = null;
    this._fatalCode = null;
    this.expiresAt = null; // when the server closes the socket unless it gets a fresh token
  }

  on(type, fn) {
    if (!this._listeners.has(type)) this._listeners.set(type, []);
    this._listeners.get(type).push(fn);
    return this;
  }

  _emit(type, detail) {
    for (const fn of this._listeners.get(type) ?? []) {
      if (this._silenced) return; // see silence(): not even the rest of this event
      fn(detail);
    }
  }

  /** Stop, and tell the listeners nothing more, from now on: the page is going away
   * (it reloads in another language on the welcome). */
  silence() {
    this._silenced = true;
    this.stop();
  }

  /** Up to which seq the first replay left `channel`'s messages out (hello `recent`), or 0. */
  skipped(channel) {
    return this._logs.get(channel)?.base ?? 0;
  }

  /** `since` for hello: per channel, the highest seq up to which all are held. */
  since() {
    const since = {};
    for (const [channel, log] of this._logs) if (log.upTo > 0) since[channel] = log.upTo;
    return since;
  }

  connect() {
    clearTimeout(this._timer);
    this._timer = null;
    if (this._stopped || this._ws) return;
    this._emit('status', { state: this._attempt === 0 ? 'connecting' : 'reconnecting' });
    this._helloError = null;
    const ws = new this._WebSocket(this.url, SUBPROTOCOL);
    this._ws = ws;
    // Handlers check `ws === this._ws` so a late event of an old socket is ignored.
    ws.onopen = () => {
      if (ws !== this._ws) return;
      const hello = { type: 'hello', token: this.token, room: this.room, since: this.since() };
      // only while nothing is held: a later hello must not leave a hole in the middle
      this._recentSent = this.recent && this._logs.size === 0 ? this.recent : null;
      if (this._recentSent) hello.recent = this._recentSent;
      ws.send(JSON.stringify(hello));
    };
    ws.onmessage = (event) => {
      if (ws === this._ws) this._receive(event.data);
    };
    // 'error' is always followed by 'close', which does the work.
    ws.onclose = (event) => {
      if (ws === this._ws) this._closed(event);
    };
  }

  /** Skip the backoff wait (e.g. the browser is back online). */
  reconnectNow() {
    if (this._timer !== null) this.connect();
  }

  stop() {
    this._stopped = true;
    clearTimeout(this._timer);
    clearTimeout(this._resendTimer);
    clearTimeout(this._expiryTimer);
    const ws = this._ws;
    this._ws = null;
    ws?.close(1000);
  }

  /** Queue a message; it goes out now if joined, else right after the next welcome. */
  send(channel, body) {
    const entry = { id: newId(), channel, body, state: 'sending', error: null, sentAt: new Date() };
    this._outbox.set(entry.id, entry);
    this._emit('sending', entry);
    this._transmit(entry);
    return entry;
  }

  /**
   * Queue any other storing frame, e.g. act('propose', {amount, currency}, 'joint').
   * `channel` is where its record lands, so a replay can settle it.
   */
  act(type, fields, channel) {
    const entry = {
      id: newId(), type, fields, channel, action: true, state: 'sending', error: null,
      sentAt: new Date(),
    };
    this._outbox.set(entry.id, entry);
    this._emit('sending', entry);
    this._transmit(entry);
    return entry;
  }

  /** Tell the others we are typing in `channel` (best effort, never queued). */
  typing(channel) {
    if (this._joined && this._ws?.readyState === OPEN) {
      this._ws.send(JSON.stringify({ type: 'typing', channel }));
    }
  }

  /**
   * A fresh token for this room (same user and role): sent on the open socket, which
   * then stays open past the old token's expiry; used by every later hello. After the
   * old one ran out (fatal 4401), it brings the room back.
   */
  setToken(token) {
    this.token = token;
    if (this._joined && this._ws?.readyState === OPEN) {
      this._ws.send(JSON.stringify({ type: 'token', token, id: `token:${newId()}` }));
    } else if (this._stopped && this._fatalCode === 4401) {
      this._stopped = false;
      this._fatalCode = null;
      this._attempt = 0;
      this.connect();
    }
  }

  /** Resend a failed message with the same id, so the server stores it at most once. */
  retry(id) {
    const entry = this._outbox.get(id);
    if (!entry || entry.state !== 'failed') return;
    entry.state = 'sending';
    entry.error = null;
    this._emit('sending', entry);
    this._transmit(entry);
  }

  _transmit(entry) {
    if (!this._joined || this._ws?.readyState !== OPEN) return;
    if (this._resendTimer !== null) return; // held back: goes with the next resend, in order
    const frame = entry.action
      ? { ...entry.fields, type: entry.type, id: entry.id }
      : { type: 'send', id: entry.id, channel: entry.channel, body: entry.body };
    entry.copies = (entry.copies ?? 0) + 1; // frames of it on the way, unanswered
    this._ws.send(JSON.stringify(frame));
  }

  /** After rate_limited: wait, then resend in outbox order (a no-op if already waiting). */
  _holdBack(ms) {
    if (this._resendTimer !== null) return;
    this._resendTimer = setTimeout(() => {
      this._resendTimer = null;
      let refusedYet = false;
      for (const entry of this._outbox.values()) {
        refusedYet ||= Boolean(entry.refused);
        // from the first refused one on, everything unanswered (in flight or not: the
        // server refuses those in flight); before it, only what never went out
        if (entry.state === 'sending' && (refusedYet || !entry.copies)) {
          entry.refused = false;
          this._transmit(entry);
        }
      }
    }, ms ?? RETRY_AFTER_MS);
  }

  /**
   * The `limit` messages (and events) of `channel` before `before`, as the server's
   * `history` reply ({messages, more}). They do not go through the protocol state: a page
   * only shows what the page already knows of, earlier. Rejects with the error frame, or
   * with {code: 'closed'} if the socket drops first.
   */
  page(channel, before, limit) {
    this._pageCount += 1;
    const id = `page:${this._pageCount}`;
    return new Promise((resolve, reject) => {
      if (!this._joined || this._ws?.readyState !== OPEN) {
        reject({ code: 'closed' });
        return;
      }
      this._pages.set(id, { resolve, reject });
      const ask = { type: 'history', id, channel, limit };
      if (before) ask.before = before;
      this._ws.send(JSON.stringify(ask));
    });
  }

  _read(ask) {
    this._reads.set(ask.id, ask);
    this._ws?.send(JSON.stringify(ask));
  }

  _armExpiry(expiresAt) {
    clearTimeout(this._expiryTimer);
    this.expiresAt = expiresAt ?? null;
    if (!expiresAt) return;
    const left = Date.parse(expiresAt) - Date.now();
    const lead = Math.min(EXPIRY_LEAD_MS, left / 5);
    this._expiryTimer = setTimeout(
      () => this._emit('expiring', { expiresAt, expired: false }),
      Math.max(0, left - lead),
    );
  }

  _log(channel) {
    if (!this._logs.has(channel)) this._logs.set(channel, new ChannelLog());
    return this._logs.get(channel);
  }

  _receive(text) {
    let frame;
    try {
      frame = JSON.parse(text);
    } catch {
      console.warn('mediation: ignoring a frame that is not JSON');
      return;
    }
    switch (frame.type) {
      case 'welcome': return this._welcome(frame);
      case 'message': return this._message(frame);
      case 'ack': return this._ack(frame);
      case 'error': return this._error(frame);
      case 'presence': return this._emit('presence', frame);
      case 'event': return this._event(frame);
      case 'history': return this._history(frame);
      case 'typing': return this._emit('typing', frame);
      case 'token':
        this._armExpiry(frame.expires_at);
        return this._emit('token', frame);
      default:
        // A newer server may send frames we do not know yet. One that holds a
        // seq still takes its place in the channel, or we would wait for it forever.
        if (frame.channel && Number.isInteger(frame.seq)) this._log(frame.channel).add(frame.seq);
    }
  }

  _welcome(frame) {
    this._joined = true;
    this._attempt = 0;
    this.you = frame.you;
    for (const [channel, head] of Object.entries(frame.head)) {
      const log = this._log(channel);
      if (this._recentSent) log.base = Math.max(0, head - this._recentSent);
    }
    this._armExpiry(frame.expires_at);
    this._emit('welcome', frame);
    this._emit('status', { state: 'online' });
    // Unacked sends may or may not have been committed before the drop; the
    // same id makes the resend safe either way. Failed ones wait for Retry.
    for (const entry of this._outbox.values()) {
      entry.copies = 0;
      entry.refused = false;
      if (entry.state === 'sending') this._transmit(entry);
    }
  }

  _message(frame) {
    const entry = this._outbox.get(frame.id);
    if (entry && entry.channel === frame.channel && frame.sender?.user === this.you?.user) {
      // Our own send, committed before the socket dropped: the replay
      // brings it as a message instead of an ack.
      this._settle(entry, frame.seq, frame);
      return;
    }
    if (!this._log(frame.channel).add(frame.seq)) return; // duplicate
    this._emit('message', frame);
  }

  _event(frame) {
    const entry = this._outbox.get(frame.id);
    if (entry && entry.channel === frame.channel && frame.sender?.user === this.you?.user) {
      this._settle(entry, frame.seq, frame);
      if (!entry.action) return;
    }
    if (!this._log(frame.channel).add(frame.seq)) return; // duplicate
    this._emit('event', frame);
  }

  _ack(frame) {
    const entry = this._outbox.get(frame.id);
    if (!entry) return; // already settled by the replay
    this._settle(entry, frame.seq, null);
    if (entry.action) {
      // Read our own event back: its seq stays unheld until then, so a drop
      // before the reply makes the resume replay it instead.
      const ask = { type: 'history', channel: frame.channel, before: frame.seq + 1, limit: 1 };
      this._read({ ...ask, id: `own:${entry.id}` });
    }
  }

  _history(page) {
    const asked = this._pages.get(page.id);
    if (asked) {
      this._pages.delete(page.id);
      asked.resolve(page);
      return;
    }
    this._reads.delete(page.id);
    for (const frame of page.messages ?? []) {
      if (frame.type === 'event') this._event(frame);
      else this._message(frame);
    }
  }

  _settle(entry, seq, message) {
    this._outbox.delete(entry.id);
    if (!entry.action) this._log(entry.channel).add(seq);
    entry.state = 'delivered';
    this._emit('delivered', { entry, seq, message });
  }

  _error(frame) {
    const entry = frame.id != null ? this._outbox.get(frame.id) : undefined;
    if (entry) entry.copies = Math.max(0, (entry.copies ?? 0) - 1);
    const read = frame.id != null ? this._reads.get(frame.id) : undefined;
    const asked = frame.id != null ? this._pages.get(frame.id) : undefined;
    if (asked) {
      this._pages.delete(frame.id);
      asked.reject(frame);
      return;
    }
    if (frame.code === 'rate_limited' && read) {
      setTimeout(() => this._joined && this._read(read), frame.retry_after_ms ?? RETRY_AFTER_MS);
    } else if (frame.code === 'rate_limited' && entry?.state === 'sending') {
      // not a failure: resent in order once the wait is over (unless a later copy of it
      // is on the way, whose answer counts)
      if (!entry.copies) {
        entry.refused = true;
        this._holdBack(frame.retry_after_ms);
      }
    } else if (entry && entry.state === 'sending') {
      entry.state = 'failed';
      entry.error = frame;
      this._emit('failed', entry);
    } else if (!this._joined) {
      this._helloError = frame; // reported with the close that follows
    } else {
      this._emit('notice', frame);
    }
  }

  _closed(event) {
    this._ws = null;
    this._joined = false;
    clearTimeout(this._resendTimer); // the next welcome resends everything, in order
    this._resendTimer = null;
    this._reads.clear(); // the resume replays what those reads were for
    for (const asked of this._pages.values()) asked.reject({ code: 'closed' });
    this._pages.clear();
    if (this._stopped) return;
    if (FATAL_CLOSES.has(event.code)) {
      this._stopped = true;
      this._fatalCode = event.code;
      const message = this._helloError?.message || event.reason || '';
      this._emit('status', { state: 'fatal', code: event.code, message });
      if (event.code === 4401) this._emit('expiring', { expiresAt: this.expiresAt, expired: true });
      return;
    }
    // 0.5 s doubling up to 10 s, +-20% jitter so a restarted server is not
    // hit by every client in the same instant.
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** this._attempt);
    const delay = Math.round(base * (0.8 + 0.4 * Math.random()));
    this._attempt += 1;
    this._emit('status', { state: 'reconnecting', code: event.code, delay });
    this._timer = setTimeout(() => this.connect(), delay);
  }
}
