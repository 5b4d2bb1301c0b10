// Peer review in the console: the inbox of this week's assignments (GET
// /api/review/inbox), the reviews of one's own rooms (GET /api/review/results), and
// the review page: the room's transcript read-only, read through the access-logged
// path (GET /api/review/assignments/{id}/transcript, purpose "peer review"), beside
// the active scorecard's form (POST /api/review/assignments/{id}).

import { h } from '../shared/dom.js';
import { formatNumber, t } from '../i18n.js';
import { parseBundle, renderTranscript } from '../audit/transcript.js';

const SCORES = [1, 2, 3, 4, 5];

export class ReviewPanel {
  /** `show(node)` puts the review page in the room pane (closing any open room). */
  constructor(api, { announce, show }) {
    this.api = api;
    this.announce = announce;
    this.show = show;
    this.list = h('ul', { class: 'review-list', id: 'review-inbox' });
    this.results = h('ul', { class: 'review-list', id: 'review-results' });
    this.error = h('p', { class: 'queue-error', role: 'alert' });
    this.root = h('details', { class: 'sla-panel review-panel', id: 'review-panel' },
      h('summary', { class: 'queue-title', text: t('review.title') }),
      h('p', { class: 'muted sla-hint', text: t('review.hint') }),
      this.list,
      h('h3', { class: 'queue-title', text: t('review.results') }),
      this.results, this.error);
    this.root.addEventListener('toggle', () => { if (this.root.open) this.refresh(); });
  }

  async refresh() {
    try {
      const { assignments } = await this.api.get('/api/review/inbox');
      const { reviews } = await this.api.get('/api/review/results');
      this.error.textContent = '';
      this.list.replaceChildren(...(assignments.length
        ? assignments.map((a) => this._assignment(a))
        : [h('li', { class: 'muted', text: t('review.none') })]));
      this.results.replaceChildren(...(reviews.length
        ? reviews.map((r) => this._result(r))
        : [h('li', { class: 'muted', text: t('review.noResults') })]));
    } catch (exc) {
      this.error.textContent = t('review.failed', { message: exc.message });
    }
  }

  _assignment(a) {
    const done = a.completed_at !== null;
    return h('li', { class: 'sla-item review-item', 'data-assignment': String(a.id) },
      h('p', { class: 'queue-head', text: t('review.item', { week: a.week, moderator: a.moderator, room: a.room }) }),
      done ? h('p', { class: 'muted', text: t('review.done') })
        : h('button', { type: 'button', class: 'review-open', text: t('review.open'),
          'aria-label': t('review.openLabel', { room: a.room }), onclick: () => this.open(a) }));
  }

  _result(r) {
    const scores = Object.entries(r.scores).map(([k, v]) => `${k} ${v}`).join(' · ');
    return h('li', { class: 'sla-item review-result', 'data-assignment': String(r.assignment) },
      h('p', { class: 'queue-head', text: t('review.resultHead', { week: r.week, room: r.room, weighted: formatNumber(r.weighted) }) }),
      h('p', { class: 'review-scores', text: scores }),
      r.comment ? h('p', { class: 'review-comment', text: r.comment }) : null);
  }

  async open(assignment) {
    const page = h('section', { class: 'review-page', 'aria-label': t('review.pageLabel', { room: assignment.room }) },
      h('h2', { text: t('review.pageTitle', { moderator: assignment.moderator, room: assignment.room }) }));
    this.show(page);
    try {
      const base = `/api/review/assignments/${encodeURIComponent(assignment.id)}`;
      const [text, card] = await Promise.all([
        this.api.get(`${base}/transcript?format=jsonl`, { as: 'text' }),
        this.api.get('/api/review/scorecard'),
      ]);
      const bundle = parseBundle(text);
      page.append(this._form(assignment, card, base),
        h('h3', { text: t('review.transcript') }),
        renderTranscript(bundle.records, bundle.header?.room?.shredded ?? false));
    } catch (exc) {
      page.append(h('p', { class: 'error-text', role: 'alert', text: t('review.failed', { message: exc.message }) }));
    }
  }

  _form(assignment, card, base) {
    const picks = {};
    const groups = card.criteria.map((c) => {
      picks[c.key] = h('select', { id: `review-${c.key}`, name: c.key, required: true, class: 'short' },
        h('option', { value: '', text: '—' }),
        ...SCORES.map((n) => h('option', { value: String(n), text: String(n) })));
      return h('div', { class: 'field' },
        h('label', { for: `review-${c.key}`, text: t('review.criterion', { label: c.label, weight: c.weight }) }),
        c.description ? h('p', { class: 'muted sla-hint', text: c.description }) : null,
        picks[c.key]);
    });
    const comment = h('textarea', { id: 'review-comment', name: 'comment', rows: '4', maxlength: '5000' });
    const status = h('p', { class: 'review-status', role: 'status' });
    const submit = h('button', { type: 'submit', class: 'review-submit', text: t('review.submit') });
    const send = async (event) => {
      event.preventDefault();
      const scores = Object.fromEntries(Object.entries(picks).map(([k, el]) => [k, Number(el.value)]));
      try {
        const made = await this.api.post(base, { scores, comment: comment.value });
        status.textContent = t('review.sent', { weighted: formatNumber(made.weighted) });
        submit.disabled = true;
        this.announce(status.textContent);
        this.refresh();
      } catch (exc) {
        status.textContent = t('review.sendFailed', { message: exc.message });
      }
    };
    return h('form', { class: 'review-form', onsubmit: send, 'aria-label': t('review.formLabel') },
      ...groups,
      h('div', { class: 'field' }, h('label', { for: 'review-comment', text: t('review.comment') }), comment),
      h('p', {}, submit), status);
  }
}
