// DOM rendering of one room. Knows nothing about sockets: the page feeds it
// the protocol client's events and hands user actions back through callbacks.
// Used by the party page (index.html) and the moderator console.

import { Announcer, h } from '../shared/dom.js';
import {
  channelHint, channelLabel, errorTitle, formatMoney, formatTime, roleLabel, stateLabel, t,
} from '../i18n.js';
import { buildShell } from './shell.js';
import { eventText, paneFor } from './events.js';
import { Proposals, canPropose, selfServe } from './proposals.js';
import { Csat } from './csat.js';
import { Arbitration } from './arbitration.js';
import { Deadlines } from './deadlines.js';
import { Attachments } from './attachments.js';
import { Uploads } from './uploads.js';
import { Evidence } from './evidence.js';
import { markRemoved, redactButton } from './redactions.js';
import { Team } from './team.js';
import { ReadMarks } from './unread.js';
import { Edits } from './edits.js';
import { Audience } from './audience.js';
import { avatar, decorateIdentities } from './identity.js';
import { paysSentence } from './amounts.js';
import { PARTIES, OBSERVERS } from './roles.js';

const CHANNEL_ORDER = ['joint', 'caucus:client', 'caucus:freelancer', 'notes'];
const FATAL_CODES = new Set([4401, 4403, 4404]);
const NEAR_BOTTOM_PX = 48;
const TYPING_SHOWN_MS = 5000;
const TYPING_SENT_EVERY_MS = 3000;

function byChannelOrder(a, b) {
  const rank = (c) => (CHANNEL_ORDER.includes(c) ? CHANNEL_ORDER.indexOf(c) : CHANNEL_ORDER.length);
  return rank(a) - rank(b) || a.localeCompare(b);
}

export class RoomView {
  /**
   * @param {HTMLElement} container
   * @param {{onSend(channel, body), onRetry(id), onReconnect(), onAct(type, fields, channel),
   *          onTyping(channel)}} actions
   */
  constructor(container, actions, { headingLevel = 1, titleFromTicket = false } = {}) {
    this.actions = actions;
    this.titleFromTicket = titleFromTicket;
    this.el = buildShell(container, { headingLevel });
    this.announcer = new Announcer(this.el.announcer);
    this.you = null;
    this.room = null;
    this.heads = null; // the first welcome's heads: what is older is replay, not news
    this.panes = new Map(); // channel -> {tab, panel, list, badge, form, unread, stick, lastSeq}
    this.active = null;
    this.outgoing = new Map(); // entry id -> <li> of our own unacked message
    this.participants = new Map(); // "role:user" -> {user, role, online}
    this.names = new Map(); // user -> display name, from the last welcome (read at hello only)
    this.typists = new Map(); // "role:user" -> {user, role, channel, timer}
    this.caucus = null; // the party in a private session now
    this.muted = new Map(); // party -> until (Date)
    this.pausedUntil = null;
    this.team = new Team(); // the lead moderator and the co-moderators
    this.proposals = new Proposals({
      you: null, act: (...a) => this.actions.onAct(...a), state: () => this.room?.state,
      name: (user) => this.nameOf(user), pays: (terms) => this.pays(terms),
    });
    this.files = null; // the room's RoomFiles, set by connectRoom
    const room = {
      you: () => this.you, files: () => this.files, writable: () => !this.readOnly,
      notice: (error) => this.notice(error), announce: (text) => this.announcer.say(text),
      name: (user) => this.nameOf(user),
    };
    this.attachments = new Attachments(room);
    this.uploads = new Uploads(room);
    this.evidence = new Evidence({
      ...room,
      act: (...a) => this.actions.onAct(...a),
      attach: (channel, file, request) => {
        const pane = this.panes.get(channel);
        if (pane?.uploads) this.uploads.start(channel, file, pane.uploads, request);
      },
      show: (channel) => this.activateIndex([...this.panes.keys()].indexOf(channel)),
    }, this.el.evidence);
    this.csat = new Csat(this.el.csat, (type, fields) => this.actions.onAct(type, fields, `caucus:${this.you.role}`));
    this.arbitration = new Arbitration(this.el.arbitration,
      (type, fields, channel) => this.actions.onAct(type, fields, channel));
    this.deadlines = new Deadlines(this.el.deadlines, () => this.you, (terms) => this.pays(terms));
    this.edits = new Edits({ act: (...a) => this.actions.onAct(...a), canWrite: (c) => this._canWrite(c) });
    this._lastTypingSent = 0;
    this.readMarks = new ReadMarks(() => this._seen(this.active)); // unread.js
    this.audience = new Audience({ you: () => this.you, people: () => this.participants.values(),
      name: (user) => this.nameOf(user) });
    decorateIdentities(container, (user) => this._roleOf(user));
  }

  // ---- page-level states ---------------------------------------------------

  showMissingLink() {
    this.el.room.hidden = true;
    this._banner('error', t('link.missing.title'), t('link.missing.body'));
  }

  showSpentLink() {
    this.el.room.hidden = true;
    this._banner('error', t('link.spent.title'), t('link.spent.body'));
  }

  setStatus({ state, code, message }) {
    if (state === 'online') {
      this._banner(null);
      this._setComposersEnabled(!this.readOnly);
    } else if (state === 'connecting') {
      this._banner('info', t('status.connecting'));
    } else if (state === 'reconnecting') {
      for (const p of this.participants.values()) p.online = false;
      this._renderParticipants();
      const now = h('button', { type: 'button', text: t('status.reconnectNow'),
        onclick: () => this.actions.onReconnect() });
      this._banner('warn', t('status.reconnecting'), t('status.reconnectingDetail'), now);
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

  /** What to show for a user: their display name when the room has one, else their id. */
  nameOf(user) {
    return this.names.get(user) ?? user;
  }

  /** The role of a user among the room's participants, if known (their avatar's colour). */
  _roleOf(user) {
    for (const p of this.participants.values()) if (p.user === user) return p.role;
    return null;
  }

  /** "Client Alice pays freelancer Bob USD 150.00": the amount of `terms`, who pays whom. */
  pays(terms) {
    return paysSentence(terms, this.participants.values(), (user) => this.nameOf(user));
  }

  /** A user's name as a text element; the id stays on hover when a name replaces it. */
  _who(user, className = 'who', role = null) {
    const name = this.nameOf(user);
    return h('span', { class: className, 'data-user': user, 'data-role': role,
      title: name === user ? null : t('people.id', { user }), text: name });
  }

  get readOnly() {
    return !this.you || OBSERVERS.includes(this.you.role) || this.room?.state === 'closed';
  }

  // ---- welcome: room, participants, channels -------------------------------

  /** First welcome builds the room; later ones (after a reconnect) refresh it. */
  welcome({ room, you, head }) {
    this.you = you;
    this.proposals.room.you = you;
    this.room = { ...room };
    this.names = new Map(Object.entries(room.names ?? {}));
    this.readMarks.open(room.id, you.user);
    if (this.heads === null) this.heads = { ...head };
    this.el.room.hidden = false;
    this._renderMeta();
    if (this.titleFromTicket) this.el.title.textContent = t('room.ticket', room.ticket);
    this.el.you.textContent = t('room.you', { user: this.nameOf(you.user), role: roleLabel(you.role) });

    this.participants.clear();
    for (const p of room.participants) this.participants.set(`${p.role}:${p.user}`, { ...p });
    this._renderParticipants();

    for (const channel of Object.keys(head).sort(byChannelOrder)) {
      // `room` carries the room's own events (joins, state changes), not a conversation
      if (channel !== 'room' && !this.panes.has(channel)) this._addPane(channel);
    }
    if (this.active === null && this.panes.size > 0) this._activate(this.panes.keys().next().value);
    this._setComposersEnabled(!this.readOnly);
    this._renderOutcome(null);
    if (PARTIES.includes(you.role)) this.csat.update(this.room.state);
    this.arbitration.update(this.room.state, you);
    this.onChange?.();
  }

  presence({ user, role, online }) {
    const key = `${role}:${user}`;
    const known = this.participants.get(key);
    if (known) known.online = online;
    else this.participants.set(key, { user, role, online });
    if (!online) this._stopTyping(key);
    this._renderParticipants();
  }

  typing({ user, role, channel }) {
    const key = `${role}:${user}`;
    clearTimeout(this.typists.get(key)?.timer);
    const timer = setTimeout(() => this._stopTyping(key), TYPING_SHOWN_MS);
    this.typists.set(key, { user, role, channel, timer });
    this._renderTyping();
  }

  _stopTyping(key) {
    const known = this.typists.get(key);
    if (!known) return;
    clearTimeout(known.timer);
    this.typists.delete(key);
    this._renderTyping();
  }

  _renderTyping() {
    const typists = [...this.typists.values()];
    const names = typists.map((x) => t('typing.one', {
      user: this.nameOf(x.user), channel: channelLabel(x.channel, this.you.role),
    }));
    this.el.typing.replaceChildren(...(names.length
      ? [...typists.map((x) => avatar(this.nameOf(x.user), x.role)), t('typing.line', { who: names.join(t('list.and')) })]
      : []));
  }

  /** A person joined or left a side: the list of each side's people follows. */
  _member(frame) {
    const key = `${frame.side}:${frame.member}`;
    if (frame.kind === 'member_removed') this.participants.delete(key);
    else if (!this.participants.has(key)) {
      this.participants.set(key, { user: frame.member, role: frame.side, online: false });
    }
    this._renderParticipants();
  }

  _renderParticipants() {
    // each side's people under the side's name (several people may share a side), then
    // the others (moderators, auditors) as they came
    const everyone = [...this.participants.values()];
    const groups = [...PARTIES.map((side) => [side, everyone.filter((p) => p.role === side)]),
      ['others', everyone.filter((p) => !PARTIES.includes(p.role))]];
    const items = groups.filter(([, people]) => people.length > 0).flatMap(([side, people]) => [
      h('li', { class: 'side', 'data-side': side,
        text: t(side === 'others' ? 'people.others' : `people.side.${side}`) }),
      ...this._people(people),
    ]);
    this.el.people.replaceChildren(...items);
    this.audience.refresh(this.panes);
  }

  _people(people) {
    return people.map((p) => {
      const isYou = this.you && p.user === this.you.user && p.role === this.you.role;
      const muted = this.muted.get(p.role);
      return h('li', { class: 'person', 'data-role': p.role, 'data-online': String(p.online) },
        h('span', { class: `dot ${p.online ? 'on' : 'off'}`, 'aria-hidden': 'true' }),
        this._who(p.user, 'name', p.role),
        ' ',
        h('span', { class: 'role', text: roleLabel(p.role) }),
        isYou ? h('span', { class: 'you', text: ` ${t('people.you')}` }) : null,
        muted && muted > new Date() ? h('span', { class: 'tag', text: t('people.muted') }) : null,
        this._teamTag(p),
        h('span', { class: 'status-word', text: t(p.online ? 'people.online' : 'people.offline') }));
    });
  }

  /** A moderator's place in the team (lead, co-moderator), or that an observer only reads. */
  _teamTag(p) {
    const place = p.role === 'moderator' ? this.team.placeOf(p.user) : null;
    if (place) return h('span', { class: `tag team-${place}`, text: t(`people.${place}`) });
    if (p.role === 'observer') return h('span', { class: 'tag team-observer', text: t('people.observing') });
    return null;
  }

  _addPane(channel) {
    const n = this.panes.size;
    const label = channelLabel(channel, this.you.role);
    const badge = h('span', { class: 'badge', hidden: true });
    const tab = h('button', {
      type: 'button', role: 'tab', id: `tab-${n}`, 'aria-controls': `panel-${n}`,
      'aria-selected': 'false', tabindex: '-1', 'data-channel': channel,
      onclick: () => this._activate(channel),
      onkeydown: (e) => this._tabKey(e, channel),
    }, h('span', { text: label }), badge);

    const list = h('ol', { class: 'messages', 'aria-label': t('messages.label', { channel: label }),
      tabindex: '0' });
    const pane = { tab, badge, list, form: null, unread: 0, stick: true, lastSeq: 0, channel };
    // Keep following new messages only while the reader is at the bottom.
    list.addEventListener('scroll', () => {
      pane.stick = list.scrollHeight - list.scrollTop - list.clientHeight < NEAR_BOTTOM_PX;
    });

    const hint = channelHint(channel, this.you.role);
    const panel = h('section', { role: 'tabpanel', id: `panel-${n}`, 'aria-labelledby': `tab-${n}`,
      class: 'panel', hidden: true, 'data-channel': channel },
      hint ? h('p', { class: 'hint', text: hint }) : null,
      list);
    pane.panel = panel;

    if (OBSERVERS.includes(this.you.role)) {
      panel.append(h('p', { class: 'readonly', text: t(this.you.role === 'arbitrator'
        ? 'composer.readonly.arbitrator' : 'composer.readonly') }));
    } else {
      const files = this.uploads.controls(channel, label);
      pane.form = this._composer(channel, label, n, files);
      pane.closedNote = h('p', { class: 'readonly', hidden: true, text: t('composer.closed') });
      pane.uploads = files.list;
      // the parties may settle by themselves while nobody mediates (rooms/self_serve.py)
      pane.selfServeNote = channel === 'joint' && PARTIES.includes(this.you.role)
        ? h('p', { class: 'self-serve-note', hidden: true, text: t('proposal.selfServe') })
        : null;
      panel.append(pane.closedNote, ...(pane.selfServeNote ? [pane.selfServeNote] : []),
        files.list, pane.form);
      this.uploads.acceptDrops(panel, channel, files.list, () => !files.button.disabled);
      this.uploads.acceptPaste(pane.form.querySelector('textarea'), channel, files.list);
    }

    this.el.tabs.append(tab);
    this.el.panels.append(panel);
    this.panes.set(channel, pane);
    this.audience.pane(pane);
  }

  _composer(channel, label, n, files) {
    const input = h('textarea', { id: `input-${n}`, rows: '2', 'aria-describedby': `keys-${n}`,
      placeholder: t('composer.placeholder'), class: 'composer-input' });
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
    input.addEventListener('input', () => {
      const now = Date.now();
      if (input.value && now - this._lastTypingSent > TYPING_SENT_EVERY_MS) {
        this._lastTypingSent = now;
        this.actions.onTyping?.(channel);
      }
    });
    const propose = channel === 'joint' && this.you.role !== 'auditor'
      ? h('button', { type: 'button', class: 'secondary propose', text: t('proposal.make'),
        onclick: () => this.proposals.openForm() })
      : null;
    return h('form', { class: 'composer', onsubmit: (e) => { e.preventDefault(); submit(); } },
      h('label', { for: `input-${n}`, class: 'sr-only', text: t('composer.label', { channel: label }) }),
      h('span', { id: `keys-${n}`, class: 'sr-only', text: t('composer.keys') }),
      input,
      h('div', { class: 'composer-buttons' },
        h('button', { type: 'submit', text: t('composer.send') }), files.button, files.input, propose));
  }

  _setComposersEnabled(enabled) {
    for (const pane of this.panes.values()) {
      if (!pane.form) continue;
      for (const control of pane.form.elements) control.disabled = !enabled;
      if (pane.closedNote) pane.closedNote.hidden = this.room?.state !== 'closed';
      // settlements are made while mediating, or by the parties while the room waits for
      // a moderator: elsewhere the server would only refuse them
      const state = this.room?.state;
      const propose = pane.form.querySelector('.propose');
      if (propose) propose.hidden = !canPropose(state, this.you?.role);
      if (pane.selfServeNote) pane.selfServeNote.hidden = !enabled || !selfServe(state);
    }
    this.attachments.refresh();
    this.evidence.refresh();
    this.edits.refresh();
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

  /** Show the n-th tab (keyboard shortcut 1-4); returns false if there is none. */
  activateIndex(i) {
    const channel = [...this.panes.keys()][i];
    if (!channel) return false;
    this._activate(channel);
    this.panes.get(channel).tab.focus();
    return true;
  }

  /** Focus the composer of the visible tab. */
  focusComposer() {
    this.panes.get(this.active)?.form?.querySelector('textarea')?.focus();
  }

  /** Put text in the visible tab's composer for the moderator to check and send. */
  insertText(text) {
    const input = this.panes.get(this.active)?.form?.querySelector('textarea');
    if (!input) return;
    input.value = input.value ? `${input.value}\n${text}` : text;
    input.focus();
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
    this._seen(channel);
    if (pane.stick) pane.list.scrollTop = pane.list.scrollHeight;
  }

  /** The open tab's records are read up to its last one (kept across reloads: unread.js). */
  _seen(channel) {
    const pane = this.panes.get(channel);
    if (pane) this.readMarks.seen(channel, pane.lastSeq);
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

  isNews(frame) {
    return this.heads !== null && frame.seq > (this.heads[frame.channel] ?? 0);
  }

  /** A committed message from someone else (or from our other device). */
  message(frame, { earlier = false } = {}) {
    const own = this.you && frame.sender.user === this.you.user;
    const item = this._item({
      own, user: frame.sender.user, role: frame.sender.role, body: frame.body,
      time: new Date(frame.ts),
    });
    this._stopTyping(`${frame.sender.role}:${frame.sender.user}`);
    if (frame.redacted) markRemoved(item, frame.redacted.reason);
    else if (this.you?.role === 'moderator' && !this.readOnly) {
      item.append(redactButton(frame, (...a) => this.actions.onAct(...a)));
    }
    this._place(frame.channel, item, frame.seq, { countUnread: !own && !earlier });
    if (own && frame.sender.role === this.you.role && !frame.redacted) this.edits.offer(item, frame);
    if (!own && this.isNews(frame) && !frame.redacted) {
      this.announcer.say(t('announce.message', {
        user: this.nameOf(frame.sender.user), channel: channelLabel(frame.channel, this.you.role),
        body: frame.body,
      }));
    }
  }

  _renderMeta() {
    const { ticket, state } = this.room;
    this.el.meta.textContent = `${t('room.ticket', ticket)} · ${t('room.state', { state: stateLabel(state) })}`;
    this.el.meta.dataset.state = state;
  }

  event(frame) {
    if (this.team.event(frame)) {
      this._renderParticipants();
      this.onChange?.(); // the console's team actions
    }
    switch (frame.kind) {
      case 'state': this._state(frame); break;
      case 'proposal': this._proposal(frame); return;
      case 'response': this.proposals.response(frame); break;
      case 'caucus': this._caucus(frame); break;
      case 'floor': this._floor(frame); break;
      case 'csat':
        if (frame.sender.user === this.you.user) this.csat.done();
        break;
      case 'edit': case 'retract': this._amend(frame); return;
      case 'redaction': this._redacted(frame); return;
      case 'file':
        this._file(frame);
        this.evidence.answered(frame);
        return;
      case 'evidence_request': this._evidenceRequest(frame); return;
      case 'evidence_review':
        if (this.evidence.reviewed(frame)) return;
        break;
      case 'file_deleted':
        if (this.attachments.deleted(frame)) return;
        break;
      case 'opt_in_window':
        this.arbitration.window(frame);
        this.arbitration.update(this.room.state, this.you);
        break;
      case 'decision': this.settlement = { terms: frame.terms, reason: frame.reason }; break;
      case 'member_added': case 'member_removed': this._member(frame); break;
      case 'deadline': case 'deadline_ended': case 'deadline_warning': case 'deadline_applied':
        this.deadlines.event(frame);
        this.onChange?.(); // the console's withdraw button
        break;
      default: break;
    }
    this._systemLine(frame);
  }

  /** Our own action was stored: its event comes back through `event`. Failures are shown. */
  actionFailed(entry) {
    const reason = entry.error.message || errorTitle(entry.error.code);
    if (entry.type === 'rate') this.csat.failed(reason);
    if (entry.type === 'opt_in' || entry.type === 'decide') this.arbitration.failed(reason);
    if (this.edits.failed(entry)) return; // shown under the message
    this.notice({ code: entry.error.code, message: reason });
  }

  _systemLine(frame) {
    const text = eventText(frame, this.you, (user) => this.nameOf(user), this.participants.values());
    if (text === null) return;
    const channel = paneFor(frame, this.you.role);
    if (!this.panes.has(channel)) return;
    const item = h('li', { class: `msg system kind-${frame.kind}`, 'data-kind': frame.kind,
      'data-ts': String(new Date(frame.ts).getTime()) },
      h('p', { class: 'body' }, h('span', { class: 'sr-only', text: `${t('event.label')}: ` }), text,
        ' ', this._time(new Date(frame.ts))));
    const seq = frame.channel === channel ? frame.seq : this._seqAt(channel, new Date(frame.ts).getTime());
    const mine = frame.sender.user === this.you.user;
    this._place(channel, item, seq, { countUnread: frame.channel === channel && !mine });
    if (this.isNews(frame) && frame.sender.user !== this.you.user) this.announcer.say(text);
  }

  _state(frame) {
    this.room.state = frame.state;
    this._renderMeta();
    this._setComposersEnabled(!this.readOnly);
    if (frame.state !== 'mediating') this._setCaucus(null);
    this.proposals.stateChanged(frame);
    this.deadlines.stateChanged(frame.state);
    this._renderOutcome(frame);
    if (PARTIES.includes(this.you.role)) this.csat.update(frame.state);
    this.arbitration.update(frame.state, this.you);
    this.onChange?.();
  }

  _renderOutcome(frame) {
    const { state } = this.room;
    const box = this.el.outcome;
    if (frame?.terms) this.settlement = { terms: frame.terms, seq: frame.target, reason: frame.reason };
    if (!['resolved', 'escalated', 'closed'].includes(state)) {
      box.hidden = true;
      return;
    }
    const decided = this.settlement && this.settlement.seq == null && this.settlement.terms;
    const parts = [h('strong', { text: t(decided ? 'outcome.decided' : `outcome.${state}`) })];
    if (this.settlement) {
      const { terms } = this.settlement;
      parts.push(' ', h('span', { class: 'terms', text: t('outcome.terms', {
        amount: this.pays(terms),
        milestone: terms.milestone ? t('outcome.milestone', { milestone: terms.milestone }) : '',
        text: terms.text ? t('outcome.text', { text: terms.text }) : '',
      }) }));
    } else if (frame?.reason) {
      parts.push(' ', h('span', { text: frame.reason }));
    }
    if (this.settlement?.seq && PARTIES.includes(this.you.role)) parts.push(' ', this._settlementButton());
    box.replaceChildren(...parts);
    box.className = `outcome outcome-${state}`;
    box.hidden = false;
  }

  /** A party saves the signed settlement document (docs/transcripts.md, "The settlement"). */
  _settlementButton() {
    const button = h('button', { type: 'button', class: 'settlement-download', text: t('settlement.download') });
    button.addEventListener('click', async () => {
      button.disabled = true;
      try {
        await this.files?.saveSettlement();
      } catch (exc) {
        this.notice({ code: exc.code, message: t('settlement.downloadFailed', { message: exc.message }) });
      } finally {
        button.disabled = false;
      }
    });
    return button;
  }

  _proposal(frame) {
    const item = this.proposals.proposal(frame);
    this._place('joint', item, frame.seq);
    if (this.isNews(frame) && frame.sender.user !== this.you.user) {
      this.announcer.say(t('announce.proposal', {
        user: this.nameOf(frame.sender.user), amount: formatMoney(frame.terms.amount, frame.terms.currency),
      }));
    }
  }

  _file(frame) {
    const mine = frame.sender.user === this.you.user && frame.sender.role === this.you.role;
    this._place(frame.channel, this.attachments.card(frame), frame.seq, { countUnread: !mine });
    if (this.isNews(frame) && !mine) {
      this.announcer.say(t('announce.file', {
        user: this.nameOf(frame.sender.user), name: frame.name, channel: channelLabel(frame.channel, this.you.role),
      }));
    }
  }

  _evidenceRequest(frame) {
    const mine = frame.sender.user === this.you.user;
    this._place(frame.channel, this.evidence.request(frame), frame.seq, { countUnread: !mine });
    if (this.isNews(frame) && !mine) {
      this.announcer.say(t('announce.evidence', { party: roleLabel(frame.party), item: frame.item }));
    }
  }

    _caucus(frame) {
    if (frame.open) this._setCaucus(frame.party);
    else if (this.caucus === frame.party) this._setCaucus(null);
  }

  _setCaucus(party) {
    this.caucus = party;
    this.onChange?.();
    const box = this.el.caucus;
    box.hidden = party === null;
    if (party === null) return;
    const role = this.you.role;
    if (role === party) box.textContent = t('caucus.withYou');
    else if (PARTIES.includes(role)) box.textContent = t('caucus.other', { party: t(`party.${party}`) });
    else box.textContent = t('caucus.staff', { party: t(`party.${party}`) });
  }

  _floor(frame) {
    const until = frame.until ? new Date(frame.until) : null;
    if (frame.action === 'mute') this.muted.set(frame.party, until);
    else if (frame.action === 'unmute') this.muted.delete(frame.party);
    else if (frame.action === 'pause') this.pausedUntil = until;
    else this.pausedUntil = null;
    this._renderFloor();
    this._renderParticipants();
    this.onChange?.();
  }

  _renderFloor() {
    const now = new Date();
    const box = this.el.floor;
    const mine = this.muted.get(this.you.role);
    let text = '';
    if (this.pausedUntil && this.pausedUntil > now) {
      text = t('floor.paused', { until: formatTime(this.pausedUntil).short });
    } else if (mine && mine > now) {
      text = t('floor.mutedYou', { until: formatTime(mine).short });
    }
    box.textContent = text;
    box.hidden = text === '';
    this.edits.refresh();
    clearTimeout(this._floorTimer);
    const ends = [this.pausedUntil, mine].filter((d) => d && d > now);
    if (ends.length) {
      const next = Math.min(...ends.map((d) => d.getTime())) - now.getTime() + 500;
      this._floorTimer = setTimeout(() => { this._renderFloor(); this._renderParticipants(); }, next);
    }
  }

  /** A moderator removed a message's text: every open view replaces it at once. */
  _redacted(frame) {
    const item = this._pane(frame.channel).list.querySelector(`li[data-seq="${frame.target}"]`);
    if (!item) return;
    markRemoved(item, frame.reason);
    this.edits.amended(item); // no more Edit or Retract, nor an edit under way
  }

  _amend(frame) {
    if (frame.redacted) return; // its message shows the notice
    const item = this._pane(frame.channel).list.querySelector(`li[data-seq="${frame.target}"]`);
    if (!item) return; // not loaded (older than what this page holds)
    const body = item.querySelector('.body');
    const staff = this.you && ['moderator', 'auditor', 'observer'].includes(this.you.role);
    if (staff) {
      // Moderators and auditors keep seeing every version: the original is never lost.
      item.append(h('p', { class: 'earlier', text: t('msg.earlier', { body: body.textContent }) }));
    }
    if (item.classList.contains('redacted')) return;
    if (frame.kind === 'edit') {
      body.textContent = frame.body;
      item.querySelector('.meta .edited')?.remove(); // the latest edit's time
      item.querySelector('.meta').append(h('span', { class: 'edited' },
        t('msg.edited'), ' ', this._time(new Date(frame.ts))));
    } else {
      if (!staff) body.textContent = t('msg.retracted');
      item.classList.add(staff ? 'struck' : 'retracted');
    }
    this.edits.amended(item);
  }

  /** Whether we may write in `channel` now (our own messages' Edit and Retract). */
  _canWrite(channel) {
    if (this.readOnly || !this.panes.get(channel)?.form) return false;
    const now = new Date();
    const muted = this.muted.get(this.you.role);
    if (this.you.role === 'moderator') return true; // the floor binds the parties only
    return !((muted && muted > now) || (this.pausedUntil && this.pausedUntil > now));
  }

  /** Our message (or action) on its way: new (shown at the bottom) or retried. */
  sending(entry) {
    if (entry.action) return; // actions show their result when their event comes back
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
    item.dataset.ts = String(time.getTime());
    this._setItemState(item, t('msg.delivered'), 'delivered');
    item.remove();
    this._place(entry.channel, item, seq, { countUnread: false });
    this.edits.offer(item, { channel: entry.channel, seq });
  }

  failed(entry) {
    if (entry.action) {
      this.actionFailed(entry);
      return;
    }
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
    return h('li', { class: own ? 'msg own' : 'msg', 'data-ts': time ? String(time.getTime()) : null },
      h('p', { class: 'meta' },
        this._who(user, 'who', role), ' ',
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

  /** Where a record of another channel (a room event) goes in `channel`: just after the
   * last of its stored records written before it (replays come channel by channel). */
  _seqAt(channel, ts) {
    for (let node = this.panes.get(channel).list.lastElementChild; node; node = node.previousElementSibling) {
      const seq = Number(node.dataset.seq);
      if (Number.isInteger(seq) && Number(node.dataset.ts) <= ts) return seq + 0.5;
    }
    return 0.5;
  }

  /** Insert `item` in seq order, above our unacked messages (which have no seq yet). */
  _place(channel, item, seq, { countUnread = true } = {}) {
    const pane = this._pane(channel);
    const { list } = pane;
    item.dataset.seq = String(seq);
    if (Number.isInteger(seq)) pane.lastSeq = Math.max(pane.lastSeq, seq);
    // Walk back from the end: new messages almost always belong last.
    // A room event shown between two messages (a fractional seq) goes after
    // the message that caused it, even when that one is read back later.
    const ts = Number(item.dataset.ts ?? NaN);
    const after = (node) => node.dataset.seq === undefined || Number(node.dataset.seq) > seq
      || (Number.isInteger(seq) && !Number.isInteger(Number(node.dataset.seq))
        && Number(node.dataset.ts) >= ts);
    let before = list.lastElementChild;
    while (before && after(before)) before = before.previousElementSibling;
    list.insertBefore(item, before ? before.nextSibling : list.firstChild);

    if (channel === this.active) this._seen(channel);
    else if (countUnread && this.readMarks.unread(channel, seq)) {
      pane.unread += 1;
      this._renderBadge(pane);
    }
    if (pane.stick) list.scrollTop = list.scrollHeight;
  }
}
