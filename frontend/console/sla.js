// The SLA panel: each ticket priority's response clock targets (GET /api/sla-policies),
// editable by those the server says may (the API key, MEDIATION_SLA_EDITORS). Targets are
// edited in minutes and sent in seconds; the business days a party has to answer the
// other's proposal (blank: no such deadline) as a whole number.

import { h } from '../shared/dom.js';
import { formatNumber, formatTime, t } from '../i18n.js';

const CLOCKS = ['first_response', 'answer', 'reply'];

/** "45 s", "15 min", "24 h": a target for people. */
export function formatTarget(seconds) {
  const round = (n) => formatNumber(Math.round(n * 10) / 10);
  if (seconds < 60) return t('sla.seconds', { n: round(seconds) });
  if (seconds < 3600) return t('sla.minutes', { n: round(seconds / 60) });
  return t('sla.hours', { n: round(seconds / 3600) });
}

/** The three targets of a queue entry or policy, in one line. */
export function targetsLine(targets) {
  return t('sla.line', {
    first: formatTarget(targets.first_response),
    answer: formatTarget(targets.answer),
    reply: formatTarget(targets.reply),
  });
}

export class SlaPanel {
  constructor(api, { announce, changed }) {
    this.api = api;
    this.announce = announce;
    this.changed = changed; // the queue re-reads: its rooms' targets may have moved
    this.list = h('ul', { class: 'sla-list' });
    this.error = h('p', { class: 'queue-error', role: 'alert' });
    this.root = h('details', { class: 'sla-panel', id: 'sla-panel' },
      h('summary', { class: 'queue-title', text: t('sla.title') }),
      h('p', { class: 'muted sla-hint', text: t('sla.hint') }),
      this.list, this.error);
    this.root.addEventListener('toggle', () => { if (this.root.open) this.refresh(); });
  }

  async refresh() {
    try {
      const { policies, editable } = await this.api.get('/api/sla-policies');
      this.error.textContent = '';
      this.list.replaceChildren(...policies.map((p) => this._item(p, editable)));
    } catch (exc) {
      this.error.textContent = t('sla.failed', { message: exc.message });
    }
  }

  _item(policy, editable) {
    const who = policy.default ? t('sla.default')
      : t('sla.setBy', { user: policy.updated_by, at: formatTime(new Date(policy.updated_at)).long });
    const item = h('li', { class: 'sla-item', 'data-priority': policy.priority },
      h('p', { class: 'queue-head' },
        h('span', { class: `tag priority-${policy.priority}`, text: t(`priority.${policy.priority}`) }), ' ',
        h('span', { class: 'sla-targets', text: targetsLine(policy) })),
      h('p', { class: 'sla-answer-days', text: policy.proposal_answer_days
        ? t('sla.answerDays', { n: policy.proposal_answer_days }) : t('sla.noAnswerDays') }),
      h('p', { class: 'muted sla-source', text: who }));
    if (editable) item.append(this._form(policy));
    return item;
  }

  _form(policy) {
    const inputs = {};
    const fields = CLOCKS.map((clock) => {
      const id = `sla-${policy.priority}-${clock}`;
      inputs[clock] = h('input', { id, type: 'number', min: '0.01', step: 'any', required: true,
        class: 'short', name: clock, value: String(Math.round((policy[clock] / 60) * 100) / 100) });
      return h('div', { class: 'field' }, h('label', { for: id, text: t(`sla.${clock}`) }), inputs[clock]);
    });
    const daysId = `sla-${policy.priority}-proposal_answer_days`;
    const days = h('input', { id: daysId, type: 'number', min: '1', max: '60', step: '1',
      class: 'short', name: 'proposal_answer_days', value: policy.proposal_answer_days ?? '' });
    fields.push(h('div', { class: 'field' },
      h('label', { for: daysId, text: t('sla.proposal_answer_days') }), days));
    const save = async (event) => {
      event.preventDefault();
      const body = Object.fromEntries(CLOCKS.map((c) => [c, Number(inputs[c].value) * 60]));
      body.proposal_answer_days = days.value === '' ? null : Number(days.value);
      await this._send('PUT', policy.priority, body);
    };
    const reset = policy.default ? null : h('button', { type: 'button', class: 'secondary sla-reset',
      text: t('sla.reset'), onclick: () => this._send('DELETE', policy.priority) });
    return h('form', { class: 'sla-form', onsubmit: save,
      'aria-label': t('sla.formLabel', { priority: t(`priority.${policy.priority}`) }) },
    ...fields,
    h('p', { class: 'sla-actions' },
      h('button', { type: 'submit', class: 'sla-save', text: t('sla.save') }), ' ', reset));
  }

  async _send(method, priority, body = undefined) {
    const path = `/api/sla-policies/${encodeURIComponent(priority)}`;
    try {
      const now = await this.api.request(method, path, body);
      this.announce(t('sla.saved', { priority: t(`priority.${priority}`), count: now.rooms_retimed }));
    } catch (exc) {
      this.error.textContent = t('sla.saveFailed', { message: exc.message });
      return;
    }
    await this.refresh();
    this.changed();
  }
}
