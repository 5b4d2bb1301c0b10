// DOM rendering of one room. Knows nothing about sockets: app.js feeds it
// the client's events and hands user actions back through callbacks.
//
// Message content is only ever put in the page as text (textContent or text
// nodes), never parsed as HTML.

import {
  channelHint, channelLabel, errorTitle, formatTime, roleLabel, stateLabel, t,
} from './i18n.js';

const CHANNEL_ORDER = ['joint', 'caucus:client', 'caucus:freelancer', 'notes'];
const FATAL_CODES = new Set([4401, 4403, 4404]);
const NEAR_BOTTOM_PX = 48;

/** Create an element. Props: class, text, on<event>, or attributes; children may be strings. */
function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value == null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : value);
  }
  node.append(...children.filter((c) => c != null)); // strings become text nodes
  return node;
}

function byChannelOrder(a, b) {
  const rank = (c) => (CHANNEL_ORDER.includes(c) ? CHANNEL_ORDER.indexOf(c) : CHANNEL_ORDER.length);
  return rank(a) - rank(b) || a.localeCompare(b);
}

/** Fill the static page's [data-i18n] elements from the string table. */
export function applyStaticStrings(root) {
  for (const node of root.querySelectorAll('[data-i18n]')) node.textContent = t(node.dataset.i18n);
  for (const node of root.querySelectorAll('[data-i18n-label]')) {
    node.setAttribute('aria-label', t(node.dataset.i18nLabel));
  }
}

export class RoomView {
  /**
   * @param {Document} doc
   * @param {{onSend(channel, body), onRetry(id), onReconnect()}} actions
   */
  constructor(doc, actions) {
    this.doc = doc;
    this.actions = actions;
    const $ = (id) => doc.getElementById(id);
    this.el = {
      title: $('room-title'),
      meta: $('room-meta'),
      you: $('room-you'),
      banner: $('banner'),
      notices: $('notices'),
      room: $('room'),
      people: $('participants'),
      tabs: $('tabs'),
      panels: $('panels'),
    };
    this.you = null;
    this.readOnly = false;
    this.panes = new Map(); // channel -> {tab, panel, list, badge, form, unread, stick}
    this.active = null;
    this.outgoing = new Map(); // entry id -> <li> of our own unacked message
    this.participants = new Map(); // "role:user" -> {user, role, online}
    applyStaticStrings(doc);
    doc.title = t('app.title');
  }

  // ---- page-level states ---------------------------------------------------

  showMissingLink() {
    this.el.room.hidden = true;
    this._banner('error', t('link.missing.title'), t('link.missing.body'));
  }

  setStatus({ state, code, message }) {
    if (state === 'online') {
      this._banner(null);
    } else if (state === 'connecting') {
      this._banner('info', t('status.connecting'));
    } else if (state === 'reconnecting') {
      const now = h('button', { type: 'button', text: t('status.reconnectNow'),
        onclick: () => this.actions.onReconnect() });
      this._banner('warn', t('status.reconnecting'), null, now);
    } else if (state === 'fatal') {
      const title = FATAL_CODES.has(code) ? t(`fatal.${code}`) : t('error.other');
      this._banner('error', title, message ? t('fatal.detail', { message }) : null);
      this._setComposersEnabled(false);
    }
  }

  _banner(kind, title, detail = null, action = null) {
    const { banner } = this.el;
    banner.replaceChildren();
    banner.hidden = kind === null;
    if (kind === null) return;
    banner.className = `banner banner-${kind}`;
    banner.append(h('strong', { text: title }));
    if (detail) banner.append(' ', h('span', { text: detail }));
    if (action) banner.append(' ', action);
  }

  /** An error that belongs to no message: a dismissible notice. */
  notice({ code, message }) {
    const item = h('li', { class: 'notice' },
      h('p', {}, h('strong', { text: errorTitle(code) }), message ? ` ${message}` : ''));
    item.append(h('button', {
      type: 'button', class: 'dismiss', 'aria-label': t('notice.dismiss'), text: '×',
      onclick: () => item.remove(),
    }));
    this.el.notices.append(item);
  }

  // ---- welcome: room, participants, channels -------------------------------

  /** First welcome builds the room; later ones (after a reconnect) refresh it. */
  welcome({ room, you, head }) {
    this.you = you;
    this.room = room;
    this.readOnly = you.role === 'auditor' || room.state === 'closed';
    this.el.room.hidden = false;
    this.el.title.textContent = t('app.title');
    this._renderMeta();
    this.el.you.textContent = t('room.you', { user: you.user, role: roleLabel(you.role) });

    this.participants.clear();
    for (const p of room.participants) this.participants.set(`${p.role}:${p.user}`, { ...p });
    this._renderParticipants();

    for (const channel of Object.keys(head).sort(byChannelOrder)) {
      // `room` carries the room's own events (joins, state changes), not a conversation
      if (channel !== 'room' && !this.panes.has(channel)) this._addPane(channel);
    }
    if (this.active === null && this.panes.size > 0) this._activate(this.panes.keys().next().value);
    for (const pane of this.panes.values()) {
      if (pane.closedNote) pane.closedNote.hidden = room.state !== 'closed';
    }
    this._setComposersEnabled(!this.readOnly);
  }

  presence({ user, role, online }) {
    const key = `${role}:${user}`;
    const known = this.participants.get(key);
    if (known) known.online = online;
    else this.participants.set(key, { user, role, online });
    this._renderParticipants();
  }

  _renderParticipants() {
    const items = [...this.participants.values()].map((p) => {
      const isYou = this.you && p.user === this.you.user && p.role === this.you.role;
      return h('li', { class: 'person' },
        h('span', { class: `dot ${p.online ? 'on' : 'off'}`, 'aria-hidden': 'true' }),
        h('span', { class: 'name', text: p.user }),
        ' ',
        h('span', { class: 'role', text: roleLabel(p.role) }),
        isYou ? h('span', { class: 'you', text: ` ${t('people.you')}` }) : null,
        h('span', { class: 'sr-only', text: `, ${t(p.online ? 'people.online' : 'people.offline')}` }));
    });
    this.el.people.replaceChildren(...items);
  }

  _addPane(channel) {
    const n = this.panes.size;
    const label = channelLabel(channel, this.you.role);
    const badge = h('span', { class: 'badge', hidden: true });
    const tab = h('button', {
      type: 'button', role: 'tab', id: `tab-${n}`, 'aria-controls': `panel-${n}`,
      'aria-selected': 'false', tabindex: '-1',
      onclick: () => this._activate(channel),
      onkeydown: (e) => this._tabKey(e, channel),
    }, h('span', { text: label }), badge);

    const list = h('ol', { class: 'messages', 'aria-live': 'polite', 'aria-relevant': 'additions',
      'aria-label': t('messages.label', { channel: label }), tabindex: '0' });
    const pane = { tab, badge, list, form: null, closedNote: null, unread: 0, stick: true };
    // Keep following new messages only while the reader is at the bottom.
    list.addEventListener('scroll', () => {
      pane.stick = list.scrollHeight - list.scrollTop - list.clientHeight < NEAR_BOTTOM_PX;
    });

    const hint = channelHint(channel, this.you.role);
    const panel = h('section', { role: 'tabpanel', id: `panel-${n}`, 'aria-labelledby': `tab-${n}`,
      class: 'panel', hidden: true },
      hint ? h('p', { class: 'hint', text: hint }) : null,
      list);
    pane.panel = panel;

    if (this.you.role === 'auditor') {
      panel.append(h('p', { class: 'readonly', text: t('composer.readonly') }));
    } else {
      pane.form = this._composer(channel, label, n);
      pane.closedNote = h('p', { class: 'readonly', hidden: true, text: t('composer.closed') });
      panel.append(pane.closedNote, pane.form);
    }

    this.el.tabs.append(tab);
    this.el.panels.append(panel);
    this.panes.set(channel, pane);
  }

  _composer(channel, label, n) {
    const input = h('textarea', { id: `input-${n}`, rows: '2', 'aria-describedby': `keys-${n}`,
      placeholder: t('composer.placeholder') });
    const submit = () => {
      const body = input.value;
      if (body.trim() === '' || input.disabled) return;
      this.actions.onSend(channel, body);
      input.value = '';
      input.focus();
    };
    input.addEventListener('keydown', (e) => {
      // isComposing: Enter also confirms an IME candidate (CJK input); that must not send.
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        submit();
      }
    });
    return h('form', { class: 'composer', onsubmit: (e) => { e.preventDefault(); submit(); } },
      h('label', { for: `input-${n}`, class: 'sr-only', text: t('composer.label', { channel: label }) }),
      h('span', { id: `keys-${n}`, class: 'sr-only', text: t('composer.keys') }),
      input,
      h('button', { type: 'submit', text: t('composer.send') }));
  }

  _setComposersEnabled(enabled) {
    for (const { form } of this.panes.values()) {
      if (!form) continue;
      for (const control of form.elements) control.disabled = !enabled;
    }
  }

  // Tabs follow the WAI-ARIA pattern: arrows move between tabs, Home/End jump.
  _tabKey(event, channel) {
    const channels = [...this.panes.keys()];
    const i = channels.indexOf(channel);
    const target = {
      ArrowRight: channels[(i + 1) % channels.length],
      ArrowLeft: channels[(i - 1 + channels.length) % channels.length],
      Home: channels[0],
      End: channels[channels.length - 1],
    }[event.key];
    if (!target) return;
    event.preventDefault();
    this._activate(target);
    this.panes.get(target).tab.focus();
  }

  _activate(channel) {
    for (const [name, pane] of this.panes) {
      const on = name === channel;
      pane.tab.setAttribute('aria-selected', String(on));
      pane.tab.tabIndex = on ? 0 : -1;
      pane.panel.hidden = !on;
    }
    this.active = channel;
    const pane = this.panes.get(channel);
    pane.unread = 0;
    this._renderBadge(pane);
    if (pane.stick) pane.list.scrollTop = pane.list.scrollHeight;
  }

  _renderBadge(pane) {
    pane.badge.hidden = pane.unread === 0;
    pane.badge.replaceChildren();
    if (pane.unread === 0) return;
    pane.badge.append(
      h('span', { 'aria-hidden': 'true', text: String(pane.unread) }),
      h('span', { class: 'sr-only', text: t('tab.unread', { count: pane.unread }) }));
  }

  // ---- messages --------------------------------------------------------------

  /** A committed message from someone else (or from our other device). */
  message(frame) {
    const own = this.you && frame.sender.user === this.you.user;
    const item = this._item({
      own, user: frame.sender.user, role: frame.sender.role, body: frame.body,
      time: new Date(frame.ts),
    });
    this._place(frame.channel, item, frame.seq);
  }

  /** A transcript event: edits and retractions change how their message is shown. */
  _renderMeta() {
    const { ticket, state } = this.room;
    this.el.meta.textContent = `${t('room.ticket', ticket)} · ${t('room.state', { state: stateLabel(state) })}`;
  }

  event(frame) {
    if (frame.kind === 'state') {
      this.room.state = frame.state;
      this._renderMeta();
      this.readOnly = this.you.role === 'auditor' || frame.state === 'closed';
      this._setComposersEnabled(!this.readOnly);
      return;
    }
    if (frame.kind !== 'edit' && frame.kind !== 'retract') return; // joins: presence shows them
    const item = this._pane(frame.channel).list.querySelector(`li[data-seq="${frame.target}"]`);
    if (!item) return; // not loaded (older than what this page holds)
    const body = item.querySelector('.body');
    const staff = this.you && (this.you.role === 'moderator' || this.you.role === 'auditor');
    if (staff) {
      // Moderators and auditors keep seeing every version: the original is never lost.
      item.append(h('p', { class: 'earlier', text: t('msg.earlier', { body: body.textContent }) }));
    }
    if (frame.kind === 'edit') {
      body.textContent = frame.body;
      item.querySelector('.meta').append(h('span', { class: 'edited', text: t('msg.edited') }));
    } else {
      if (!staff) body.textContent = t('msg.retracted');
      item.classList.add(staff ? 'struck' : 'retracted');
    }
  }

  /** Our message on its way: new (shown at the bottom) or retried. */
  sending(entry) {
    let item = this.outgoing.get(entry.id);
    if (!item) {
      item = this._item({ own: true, user: this.you.user, role: this.you.role, body: entry.body });
      this.outgoing.set(entry.id, item);
      const pane = this._pane(entry.channel);
      pane.list.append(item);
      pane.list.scrollTop = pane.list.scrollHeight; // one's own message is always shown
    }
    this._setItemState(item, t('msg.sending'), 'sending');
  }

  delivered({ entry, seq, message }) {
    const item = this.outgoing.get(entry.id);
    if (!item) return;
    this.outgoing.delete(entry.id);
    const time = message ? new Date(message.ts) : entry.sentAt;
    item.querySelector('.meta').append(this._time(time));
    this._setItemState(item, t('msg.delivered'), 'delivered');
    item.remove();
    this._place(entry.channel, item, seq, { countUnread: false });
  }

  failed(entry) {
    const item = this.outgoing.get(entry.id);
    if (!item) return;
    const reason = entry.error.message || errorTitle(entry.error.code);
    const retry = h('button', { type: 'button', class: 'retry', text: t('msg.retry'),
      onclick: () => this.actions.onRetry(entry.id) });
    this._setItemState(item, t('msg.failed', { reason }), 'failed', retry);
  }

  _pane(channel) {
    // A channel missing from `head` should not happen; show it rather than drop it.
    if (!this.panes.has(channel)) this._addPane(channel);
    return this.panes.get(channel);
  }

  _item({ own, user, role, body, time }) {
    return h('li', { class: own ? 'msg own' : 'msg' },
      h('p', { class: 'meta' },
        h('span', { class: 'who', text: user }), ' ',
        h('span', { class: 'role', text: roleLabel(role) }),
        time ? this._time(time) : null),
      h('p', { class: 'body', text: body }));
  }

  _time(date) {
    const { short, long } = formatTime(date);
    return h('time', { datetime: date.toISOString(), title: long, text: short });
  }

  _setItemState(item, text, state, action = null) {
    item.dataset.state = state;
    item.querySelector('.state')?.remove();
    item.querySelector('.retry')?.remove();
    const label = h('span', { class: 'state', text });
    item.querySelector('.meta').append(label);
    if (action) item.append(action);
  }

  /** Insert `item` in seq order, above our unacked messages (which have no seq yet). */
  _place(channel, item, seq, { countUnread = true } = {}) {
    const pane = this._pane(channel);
    const { list } = pane;
    item.dataset.seq = String(seq);
    // Walk back from the end: new messages almost always belong last.
    let before = list.lastElementChild;
    while (before && (before.dataset.seq === undefined || Number(before.dataset.seq) > seq)) {
      before = before.previousElementSibling;
    }
    list.insertBefore(item, before ? before.nextSibling : list.firstChild);

    if (channel !== this.active && countUnread) {
      pane.unread += 1;
      this._renderBadge(pane);
    }
    if (pane.stick) list.scrollTop = list.scrollHeight;
  }
}
