// Settlement proposals as cards in the joint conversation, and the form
// that makes one. The open offer is tracked exactly as the server's
// workflow does (rooms/workflow.py): a new proposal replaces it, a reject
// clears it, accepts accumulate (the proposing party counts as accepting),
// the resolution names the one both accepted.

import { h } from '../shared/dom.js';
import { formatMoney, formatTime, roleLabel, t } from '../i18n.js';
import { PARTIES, OBSERVERS } from './roles.js';

// While a room waits for a moderator (or a higher tier) its parties negotiate by
// themselves; a moderator proposes once the room is claimed (rooms/self_serve.py).
const WAITING = ['waiting', 'escalated'];

/** Whether `role` may make a proposal (or counter one) in a room in `state`. */
export function canPropose(state, role) {
  return state === 'mediating' ? !OBSERVERS.includes(role)
    : WAITING.includes(state) && PARTIES.includes(role);
}

/** Whether the parties negotiate by themselves now: nobody mediates the room yet. */
export function selfServe(state) {
  return WAITING.includes(state);
}

export class Proposals {
  /** @param {{you, act(type, fields, channel), state(): string, name(user): string}} room */
  constructor(room) {
    this.room = room;
    this.cards = new Map(); // seq -> {item, status, actions, frame, outcome}
    this.offer = null; // {seq, byRole, accepted:Set, expiresAt}
    this.dialog = null;
  }

  /** A proposal event: its card (to be placed in the joint list by seq). */
  proposal(frame) {
    if (this.offer) this._finish(this.offer.seq, 'countered', { by: frame.target === this.offer.seq ? frame.seq : null });
    const byRole = frame.sender.role;
    this.offer = {
      seq: frame.seq, byRole, expiresAt: new Date(frame.expires_at),
      accepted: new Set(PARTIES.includes(byRole) ? [byRole] : []),
    };
    const status = h('p', { class: 'card-status' });
    const actions = h('div', { class: 'card-actions' });
    const terms = frame.terms;
    const title = frame.target
      ? t('proposal.counterTitle', { seq: frame.seq, target: frame.target })
      : t('proposal.title', { seq: frame.seq });
    const item = h('li', { class: 'msg card proposal', 'data-proposal': String(frame.seq),
      'data-ts': String(new Date(frame.ts).getTime()) },
      h('article', { 'aria-label': title },
        h('p', { class: 'meta' },
          h('span', { class: 'who', 'data-user': frame.sender.user, text: this.room.name(frame.sender.user) }), ' ',
          h('span', { class: 'role', text: roleLabel(byRole) }),
          this._time(frame.ts)),
        h('h3', { class: 'card-title', text: title }),
        h('p', { class: 'amount', text: this.room.pays ? this.room.pays(terms) : formatMoney(terms.amount, terms.currency) }),
        terms.milestone ? h('p', { class: 'milestone', text: t('proposal.milestone', { milestone: terms.milestone }) }) : null,
        terms.text ? h('p', { class: 'body', text: terms.text }) : null,
        h('p', { class: 'muted expires', text: t('proposal.expires', { when: formatTime(this.offer.expiresAt).long }) }),
        status, actions));
    this.cards.set(frame.seq, { item, status, actions, frame });
    this.refresh();
    return item;
  }

  /** A response event. */
  response(frame) {
    if (!this.offer || this.offer.seq !== frame.target) return;
    if (frame.answer === 'accept') {
      this.offer.accepted.add(frame.sender.role);
    } else {
      this._finish(frame.target, 'rejected', { who: this.room.name(frame.sender.user) });
      this.offer = null;
    }
    this.refresh();
  }

  /** The room's state changed; a settlement names the proposal both accepted. */
  stateChanged(frame) {
    if (frame.state === 'resolved' && frame.target) {
      this._finish(frame.target, 'settled');
      this.offer = null;
    }
    this.refresh();
  }

  _finish(seq, how, params = {}) {
    const card = this.cards.get(seq);
    if (!card) return;
    card.outcome = { how, ...params };
  }

  /** Redraw every card's status line and buttons. */
  refresh() {
    for (const [seq, card] of this.cards) {
      card.actions.replaceChildren(...this._buttons(seq, card));
      card.status.textContent = this._statusText(seq, card);
      card.item.dataset.status = card.outcome?.how ?? (this.isOpen(seq) ? 'open' : 'closed');
    }
  }

  /** Whether the open offer is `seq` and waits for an answer from `role`. */
  awaitsAnswer(seq, role) {
    return this.isOpen(seq) && PARTIES.includes(role) && role !== this.offer.byRole
      && !this.offer.accepted.has(role);
  }

  isOpen(seq) {
    const state = this.room.state();
    return this.offer?.seq === seq && (state === 'mediating' || selfServe(state))
      && this.offer.expiresAt > new Date();
  }

  _statusText(seq, card) {
    if (card.outcome) {
      const { how, by, who } = card.outcome;
      if (how === 'countered') return by ? t('proposal.countered', { seq: by }) : t('proposal.replaced');
      if (how === 'rejected') return t('proposal.rejected', { who });
      return t('proposal.settled');
    }
    if (this.offer?.seq !== seq) return t('proposal.closed');
    if (this.offer.expiresAt <= new Date()) return t('proposal.expired');
    const accepted = [...this.offer.accepted].map((r) => roleLabel(r));
    return accepted.length
      ? t('proposal.acceptedBy', { who: accepted.join(t('list.and')) })
      : t('proposal.open');
  }

  _buttons(seq, card) {
    if (!this.isOpen(seq) || OBSERVERS.includes(this.room.you.role)) return [];
    const role = this.room.you.role;
    const buttons = [];
    if (this.awaitsAnswer(seq, role)) {
      buttons.push(
        h('button', { type: 'button', class: 'accept', text: t('proposal.accept'),
          onclick: () => this.room.act('respond', { proposal: seq, answer: 'accept' }, 'joint') }),
        h('button', { type: 'button', class: 'secondary reject', text: t('proposal.reject'),
          onclick: () => this.room.act('respond', { proposal: seq, answer: 'reject' }, 'joint') }));
    }
    if (canPropose(this.room.state(), role)) {
      buttons.push(h('button', { type: 'button', class: 'secondary counter', text: t('proposal.counter'),
        onclick: () => this.openForm(card.frame) }));
    }
    return buttons;
  }

  _time(iso) {
    const date = new Date(iso);
    const { short, long } = formatTime(date);
    return h('time', { datetime: date.toISOString(), title: long, text: short });
  }

  /** The proposal form, as a modal dialog; `counter` is the proposal frame it answers. */
  openForm(counter = null) {
    this.dialog?.remove();
    const last = counter?.terms ?? this.lastTerms();
    const field = (id, label, input) => h('p', { class: 'field' },
      h('label', { for: id, text: label }), input);
    const amount = h('input', { id: 'pf-amount', name: 'amount', required: true, inputmode: 'decimal',
      pattern: '[0-9]+([.][0-9]{1,4})?', autocomplete: 'off', value: last?.amount ?? '' });
    const currency = h('input', { id: 'pf-currency', name: 'currency', required: true, maxlength: '3',
      pattern: '[A-Za-z]{3}', value: last?.currency ?? 'USD', autocomplete: 'off', class: 'short' });
    const milestone = h('input', { id: 'pf-milestone', name: 'milestone', value: last?.milestone ?? '' });
    const text = h('textarea', { id: 'pf-text', name: 'text', rows: '3' });
    const hours = h('input', { id: 'pf-hours', name: 'hours', type: 'number', min: '1', max: '720',
      value: '48', class: 'short' });
    const title = counter ? t('proposal.form.counter', { seq: counter.seq }) : t('proposal.form.title');
    const form = h('form', { method: 'dialog', class: 'dialog-form' },
      h('h2', { text: title }),
      field('pf-amount', t('proposal.form.amount'), amount),
      field('pf-currency', t('proposal.form.currency'), currency),
      field('pf-milestone', t('proposal.form.milestone'), milestone),
      field('pf-text', t('proposal.form.text'), text),
      field('pf-hours', t('proposal.form.hours'), hours),
      h('div', { class: 'dialog-buttons' },
        h('button', { type: 'button', class: 'secondary', value: 'cancel', text: t('dialog.cancel'),
          onclick: () => dialog.close() }),
        h('button', { type: 'submit', value: 'ok', text: t('proposal.form.submit') })));
    const dialog = h('dialog', { class: 'dialog', 'aria-label': title }, form);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const fields = {
        amount: amount.value.trim(), currency: currency.value.trim().toUpperCase(),
        text: text.value, expires_in: Math.round(Number(hours.value || 48) * 60),
      };
      if (milestone.value.trim()) fields.milestone = milestone.value.trim();
      if (counter && this.offer?.seq === counter.seq) fields.counters = counter.seq;
      this.room.act('propose', fields, 'joint');
      dialog.close();
    });
    dialog.addEventListener('close', () => dialog.remove());
    document.body.append(dialog);
    this.dialog = dialog;
    dialog.showModal();
    amount.focus();
  }

  lastTerms() {
    const seqs = [...this.cards.keys()];
    return seqs.length ? this.cards.get(Math.max(...seqs)).frame.terms : null;
  }
}
