// What needs the party's answer reaches them wherever they are in the page:
// a new proposal, a deadline set for them, an evidence request asked of
// them. Each is a bar above the open conversation (whatever tab is open)
// saying what arrived, with its actions right there: Accept / Reject / View
// proposal; Attach for this request / View; what is due and when. A bar
// goes once what it asks is answered (or the room moves on), or when the
// party dismisses it; a dismissal is kept per room and user in localStorage.
//
// The cards stay where they are (proposals.js, deadlines.js, evidence.js):
// this module reads their state after every event and never keeps its own.

import { h } from '../shared/dom.js';
import { channelLabel, formatMoney, formatTime, roleLabel, t } from '../i18n.js';
import { PARTIES } from './roles.js';

const RECHECK_MS = 15000; // a proposal expires, a request falls due: redraw now and then

function storage() {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    return null;
  }
}

export class Alerts {
  /** @param {import('./view.js').RoomView} view  a party's room view */
  constructor(view) {
    this.view = view;
    this.region = h('section', { class: 'alerts', 'aria-label': t('alerts.label'), hidden: true });
    view.el.panels.before(this.region);
    this.items = new Map(); // key -> {kind, frame, el}
    this.bars = new Map(); // key -> element shown
    this.dismissed = new Set();
    this.storeKey = null;
    this.timer = null;
  }

  welcome() {
    const { room, you } = this.view;
    const key = `mediation:dismissed:${room.id}:${you.user}`;
    if (key !== this.storeKey) {
      this.storeKey = key;
      try {
        this.dismissed = new Set(JSON.parse(storage()?.getItem(key) ?? '[]'));
      } catch {
        this.dismissed = new Set();
      }
    }
    this.render();
  }

  /** After the view took the event in (its cards are up to date). */
  event(frame) {
    const you = this.view.you;
    if (!you || !PARTIES.includes(you.role)) return;
    if (frame.kind === 'proposal' && frame.sender.role !== you.role) {
      this.items.set(`proposal:${frame.seq}`, { kind: 'proposal', frame });
    } else if (frame.kind === 'deadline' && frame.party === you.role) {
      this.items.set(`deadline:${frame.seq}`, { kind: 'deadline', frame });
    } else if (frame.kind === 'evidence_request' && frame.party === you.role) {
      this.items.set(`evidence:${frame.channel}#${frame.seq}`, { kind: 'evidence', frame });
    }
    this.render();
  }

  // ---- what is still waiting for this party ---------------------------------

  _proposalOpen(seq) {
    return this.view.proposals.awaitsAnswer(seq, this.view.you.role);
  }

  _evidenceEntry(frame) {
    return this.view.evidence.requests.get(`${frame.channel}#${frame.seq}`);
  }

  _pending(key, item) {
    if (this.dismissed.has(key) || this.view.readOnly) return false;
    if (item.kind === 'proposal') return this._proposalOpen(item.frame.seq);
    if (item.kind === 'deadline') return this.view.deadlines.open.has(item.frame.seq);
    const entry = this._evidenceEntry(item.frame);
    return Boolean(entry) && entry.review === null && entry.files.length === 0;
  }

  render() {
    const pending = [...this.items].filter(([key, item]) => this._pending(key, item));
    const keep = new Set(pending.map(([key]) => key));
    for (const [key, bar] of this.bars) {
      if (!keep.has(key)) {
        bar.remove();
        this.bars.delete(key);
      }
    }
    for (const [key, item] of pending) {
      if (!this.bars.has(key)) {
        const bar = this._bar(key, item);
        this.bars.set(key, bar);
        this.region.append(bar);
      }
    }
    this.region.hidden = this.bars.size === 0;
    clearInterval(this.timer);
    this.timer = this.bars.size ? setInterval(() => this.render(), RECHECK_MS) : null;
  }

  // ---- one bar ------------------------------------------------------------

  _bar(key, item) {
    const id = `alert-${key.replace(/[^a-z0-9]/gi, '-')}`;
    const parts = this[`_${item.kind}`](item.frame);
    const dismiss = h('button', { type: 'button', class: 'dismiss', text: '×',
      'aria-label': t('alerts.dismiss', { what: parts.title }),
      onclick: () => this._dismiss(key) });
    // a labelled region, not a live one: the view's one live region already reads
    // the arrival out (a proposal, a deadline, a request), once
    return h('section', { class: `alert-bar alert-${item.kind}`, id, 'data-alert': key,
      'aria-labelledby': `${id}-title` },
    h('div', { class: 'alert-text' },
      h('h2', { class: 'alert-title', id: `${id}-title`, text: parts.title }),
      h('p', { class: 'alert-detail', text: parts.detail })),
    h('div', { class: 'alert-actions' }, ...parts.actions),
    dismiss);
  }

  _proposal(frame) {
    const { terms } = frame;
    const amount = formatMoney(terms.amount, terms.currency);
    const who = this.view.nameOf(frame.sender.user);
    const act = (answer, button) => {
      button.disabled = true;
      this.view.actions.onAct('respond', { proposal: frame.seq, answer }, 'joint');
    };
    const accept = h('button', { type: 'button', class: 'alert-accept', text: t('proposal.accept') });
    accept.addEventListener('click', () => act('accept', accept));
    const reject = h('button', { type: 'button', class: 'secondary alert-reject', text: t('proposal.reject') });
    reject.addEventListener('click', () => act('reject', reject));
    return {
      title: t('alerts.proposal', { who, role: roleLabel(frame.sender.role), amount }),
      detail: [terms.milestone ? t('proposal.milestone', { milestone: terms.milestone }) : '',
        terms.text ?? '',
        t('proposal.expires', { when: formatTime(new Date(frame.expires_at)).long })]
        .filter(Boolean).join(' · '),
      actions: [accept, reject, this._viewButton(t('alerts.viewProposal'), 'joint',
        () => this.view.proposals.cards.get(frame.seq)?.item)],
    };
  }

  _deadline(frame) {
    const when = formatTime(new Date(frame.due_at)).long;
    const amount = frame.terms ? formatMoney(frame.terms.amount, frame.terms.currency) : '';
    const then = t(`deadline.then.${frame.outcome}`, { seq: frame.target, amount });
    const actions = [];
    if (frame.target && this.view.proposals.cards.has(frame.target)) {
      actions.push(this._viewButton(t('alerts.viewProposal'), 'joint',
        () => this.view.proposals.cards.get(frame.target)?.item));
    }
    return {
      title: t('alerts.deadline', { when }),
      detail: [frame.reason ? t('deadline.asked', { reason: frame.reason }) : '', then]
        .filter(Boolean).join(' '),
      actions,
    };
  }

  _evidence(frame) {
    const entry = this._evidenceEntry(frame);
    const attach = h('button', { type: 'button', class: 'alert-attach', text: t('evidence.attach'),
      'aria-label': t('evidence.attachLabel', { item: frame.item }),
      onclick: () => entry?.input.click() });
    return {
      title: t('alerts.evidence', { who: this.view.nameOf(frame.sender.user), item: frame.item }),
      detail: t('alerts.evidenceDue', { when: formatTime(new Date(frame.due_at)).long,
        channel: channelLabel(frame.channel, this.view.you.role) }),
      actions: [attach, this._viewButton(t('alerts.view'), frame.channel, () => entry?.item)],
    };
  }

  /** Open `channel`'s tab and bring the card into view, with the focus on it. */
  _viewButton(text, channel, card) {
    return h('button', { type: 'button', class: 'secondary alert-view', text,
      onclick: () => {
        this.view.activateIndex([...this.view.panes.keys()].indexOf(channel));
        const item = card();
        if (!item) return;
        const target = item.querySelector('article') ?? item;
        target.tabIndex = -1;
        target.scrollIntoView({ block: 'center' });
        target.focus({ preventScroll: true });
      } });
  }

  _dismiss(key) {
    const bar = this.bars.get(key);
    const next = bar?.nextElementSibling ?? bar?.previousElementSibling;
    this.dismissed.add(key);
    try {
      storage()?.setItem(this.storeKey, JSON.stringify([...this.dismissed]));
    } catch {
      // refused: dismissed for this page only
    }
    this.render();
    // the focus was on the dismiss button, now gone: keep it in the alerts, else the tab
    (next?.querySelector('.dismiss') ?? this.view.panes.get(this.view.active)?.tab)?.focus();
  }
}

/** Alerts for a party's page: fed by the protocol client after the view. */
export function installAlerts(view, client) {
  const alerts = new Alerts(view);
  client.on('welcome', () => alerts.welcome()).on('event', (frame) => alerts.event(frame));
  return alerts;
}
