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
    // A compact card: the stars are real radio buttons (arrows, Space, a screen reader's
    // "4 out of 5"), visually hidden over their star so the star is what one sees and
    // clicks; the comment folds away until asked for. The conversation stays in view.
    const chosen = h('span', { class: 'csat-chosen', 'aria-hidden': 'true' });
    const stars = [1, 2, 3, 4, 5].map((n) => h('label', { class: 'star' },
      h('input', { type: 'radio', name: 'rating', value: String(n), required: n === 1 }),
      h('span', { class: 'star-glyph', 'aria-hidden': 'true' }),
      h('span', { class: 'sr-only', text: t('csat.stars', { n }) })));
    const row = h('div', { class: 'stars' }, stars);
    const comment = h('textarea', { id: 'csat-comment', rows: '2', maxlength: '2000' });
    const error = h('p', { class: 'csat-error', role: 'alert' });
    // folded until a star is chosen (or it is asked for), then opened once: a word on why
    const more = h('details', { class: 'csat-more' },
      h('summary', { text: t('csat.addComment') }),
      h('p', { class: 'field' }, h('label', { for: 'csat-comment', text: t('csat.comment') }), comment));
    let offered = false;
    const form = h('form', { class: 'csat-form csat-compact' },
      h('fieldset', { class: 'csat-rating' },
        h('legend', {}, h('span', { class: 'csat-title', text: t('csat.title') }),
          h('span', { class: 'sr-only', text: ` ${t('csat.question')}` })),
        row, chosen),
      more,
      h('button', { type: 'submit', class: 'csat-send', text: t('csat.submit') }),
      error);
    row.addEventListener('change', () => {
      const value = form.querySelector('input[name=rating]:checked')?.value ?? '';
      row.dataset.value = value;
      chosen.textContent = value ? t('csat.stars', { n: value }) : '';
      if (value && !offered) {
        offered = true;
        more.open = true;
      }
    });
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const picked = form.querySelector('input[name=rating]:checked');
      if (!picked || this.pending) return;
      this.pending = true;
      for (const control of form.querySelectorAll('button, input, textarea')) control.disabled = true;
      this.act('rate', { rating: Number(picked.value), comment: comment.value });
    });
    this.region.replaceChildren(form);
    this.region.hidden = false;
  }

  _thanks() {
    this.region.replaceChildren(h('p', { class: 'csat-thanks', text: t('csat.thanks') }));
    this.region.hidden = false;
  }
}
