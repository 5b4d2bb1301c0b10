// The satisfaction prompt a party sees once the room is resolved: a rating
// from 1 to 5 (a radio group, so arrows and Space work) and a comment.

import { h } from '../shared/dom.js';
import { t } from '../i18n.js';

export class Csat {
  constructor(region, act) {
    this.region = region;
    this.act = act;
    this.rated = false;
    this.pending = false;
  }

  /** Show the prompt if the room is resolved and we have not rated yet. */
  update(state) {
    if (state !== 'resolved' || this.rated) {
      if (this.rated) this._thanks();
      else this.region.hidden = true;
      return;
    }
    if (!this.region.hidden && this.region.querySelector('form')) return;
    this._form();
  }

  /** Our own rating was stored (acked and read back, or replayed). */
  done() {
    this.rated = true;
    this._thanks();
  }

  failed(message) {
    this.pending = false;
    const note = this.region.querySelector('.csat-error');
    if (note) note.textContent = message;
    for (const control of this.region.querySelectorAll('button, input, textarea')) control.disabled = false;
  }

  _form() {
    const stars = [1, 2, 3, 4, 5].map((n) => h('label', { class: 'star' },
      h('input', { type: 'radio', name: 'rating', value: String(n), required: n === 1 }),
      h('span', { 'aria-hidden': 'true', text: '★' }),
      h('span', { class: 'sr-only', text: t('csat.stars', { n }) }),
      h('span', { class: 'star-n', 'aria-hidden': 'true', text: String(n) })));
    const comment = h('textarea', { id: 'csat-comment', rows: '2', maxlength: '2000' });
    const error = h('p', { class: 'csat-error', role: 'alert' });
    const form = h('form', { class: 'csat-form' },
      h('h2', { text: t('csat.title') }),
      h('fieldset', {}, h('legend', { text: t('csat.question') }), h('div', { class: 'stars' }, stars)),
      h('p', { class: 'field' }, h('label', { for: 'csat-comment', text: t('csat.comment') }), comment),
      error,
      h('button', { type: 'submit', text: t('csat.submit') }));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const chosen = form.querySelector('input[name=rating]:checked');
      if (!chosen || this.pending) return;
      this.pending = true;
      for (const control of form.querySelectorAll('button, input, textarea')) control.disabled = true;
      this.act('rate', { rating: Number(chosen.value), comment: comment.value });
    });
    this.region.replaceChildren(form);
    this.region.hidden = false;
  }

  _thanks() {
    this.region.replaceChildren(h('p', { class: 'csat-thanks', text: t('csat.thanks') }));
    this.region.hidden = false;
  }
}
