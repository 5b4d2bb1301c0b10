// Arbitration, once a mediation failed: what a party sees (the window to opt
// in, with its button) and what the arbitrator sees (a read-only room with
// a decision form). The server decides everything; this only shows it.

import { h } from '../shared/dom.js';
import { formatTime, t } from '../i18n.js';
import { PARTIES } from './roles.js';


export class Arbitration {
  /** @param {HTMLElement} region  @param {(type, fields, channel) => void} act */
  constructor(region, act) {
    this.region = region;
    this.act = act;
    this.until = null; // Date: the window to opt in closes (from the opt_in_window event)
    this.pending = false;
    this._timer = null;
  }

  /** An opt_in_window event: the window's end, in the room channel. */
  window(frame) {
    this.until = frame.until ? new Date(frame.until) : null;
  }

  /** Show what fits the room's state for `you`; called on welcome and on every state event. */
  update(state, you) {
    clearTimeout(this._timer);
    const role = you?.role;
    if (state === 'mediation_failed' && PARTIES.includes(role)) this._offer();
    else if (state === 'arbitration' && role === 'arbitrator') this._form();
    else if (state === 'arbitration') this._say(t('arbitration.underway'));
    else this.region.hidden = true;
  }

  failed(message) {
    this.pending = false;
    const note = this.region.querySelector('.arbitration-error');
    if (note) note.textContent = message;
    for (const control of this.region.querySelectorAll('button, input, textarea')) control.disabled = false;
  }

  _offer() {
    const open = this.until === null || this.until > new Date();
    if (!open) {
      this._say(t('arbitration.closed'));
      return;
    }
    const text = this.until
      ? t('arbitration.offer', { until: formatTime(this.until).short })
      : t('arbitration.offerNoDate');
    const button = h('button', { type: 'button', class: 'opt-in', text: t('arbitration.optIn'),
      onclick: () => {
        if (this.pending) return;
        this.pending = true;
        button.disabled = true;
        this.act('opt_in', {}, 'room');
      } });
    this.region.replaceChildren(
      h('h2', { text: t('arbitration.failedTitle') }),
      h('p', { text }),
      h('p', { class: 'muted', text: t('arbitration.explain') }),
      h('p', { class: 'arbitration-error', role: 'alert' }),
      button);
    this.region.hidden = false;
    if (this.until) {
      // the button goes when the window closes (the server refuses it after: window_closed)
      const left = this.until.getTime() - Date.now() + 500;
      this._timer = setTimeout(() => this._offer(), Math.min(left, 2 ** 31 - 1));
    }
  }

  _form() {
    if (this.region.querySelector('form.decision')) { // replayed states hid it a moment
      this.region.hidden = false;
      return;
    }
    const field = (id, label, control) => h('p', { class: 'field' },
      h('label', { for: id, text: label }), control);
    const amount = h('input', { id: 'decision-amount', inputmode: 'decimal', required: true,
      maxlength: '32', pattern: '[0-9]+(\\.[0-9]+)?' });
    const currency = h('input', { id: 'decision-currency', required: true, maxlength: '8',
      value: 'USD' });
    const text = h('textarea', { id: 'decision-text', rows: '2', maxlength: '4000' });
    const reason = h('textarea', { id: 'decision-reason', rows: '4', maxlength: '8000' });
    const form = h('form', { class: 'decision' },
      h('h2', { text: t('decision.title') }),
      h('p', { class: 'muted', text: t('decision.intro') }),
      field('decision-amount', t('decision.amount'), amount),
      field('decision-currency', t('decision.currency'), currency),
      field('decision-text', t('decision.text'), text),
      field('decision-reason', t('decision.reason'), reason),
      h('p', { class: 'arbitration-error', role: 'alert' }),
      h('button', { type: 'submit', text: t('decision.submit') }));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      if (this.pending) return;
      this.pending = true;
      for (const control of form.querySelectorAll('button, input, textarea')) control.disabled = true;
      this.act('decide', {
        amount: amount.value.trim(), currency: currency.value.trim(), text: text.value,
        reason: reason.value,
      }, 'room');
    });
    this.region.replaceChildren(form);
    this.region.hidden = false;
  }

  _say(text) {
    this.region.replaceChildren(h('p', { text }));
    this.region.hidden = false;
  }
}
