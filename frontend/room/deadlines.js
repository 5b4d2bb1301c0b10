// Open deadlines with a default outcome ("answer by <time>, or <outcome>"),
// counted down under the room's header. Tracked as the server's workflow
// does (rooms/deadlines.py): a `deadline` event opens one, `deadline_ended`
// (answered, withdrawn, lapsed) and `deadline_applied` close it, and the
// room leaving mediation ends them all. The countdown text is not live for
// screen readers (it changes every second); the warning event is announced.

import { h } from '../shared/dom.js';
import { formatMoney, formatTime, t } from '../i18n.js';

const SECOND = 1000;

/** 93784000 ms -> "1 d 02:03:04"; under a day "02:03:04". */
export function countdown(ms) {
  const total = Math.max(0, Math.floor(ms / SECOND));
  const days = Math.floor(total / 86400);
  const hms = [Math.floor(total / 3600) % 24, Math.floor(total / 60) % 60, total % 60]
    .map((n) => String(n).padStart(2, '0')).join(':');
  return days ? t('deadline.days', { days, hms }) : hms;
}

export class Deadlines {
  /**
   * @param {HTMLElement} region  @param {() => {role: string} | null} you
   * @param {(terms) => string} [pays]  "Client A pays freelancer B USD 1.00" for a resolve's terms
   */
  constructor(region, you, pays = null) {
    this.region = region;
    this.you = you;
    this.pays = pays;
    this.open = new Map(); // seq -> deadline event frame
    this.timer = null;
  }

  event(frame) {
    if (frame.kind === 'deadline') this.open.set(frame.seq, frame);
    else if (frame.kind === 'deadline_ended' || frame.kind === 'deadline_applied') this.open.delete(frame.deadline);
    else if (frame.kind === 'deadline_warning' && this.open.has(frame.deadline)) {
      this.open.get(frame.deadline).warned = true;
    }
    this.render();
  }

  stateChanged(state) {
    if (state !== 'mediating') this.open.clear();
    this.render();
  }

  render() {
    const role = this.you()?.role;
    const shown = [...this.open.values()]; // everyone sees every deadline (room channel)
    if (shown.length === 0) {
      this.region.hidden = true;
      this.region.replaceChildren();
      clearInterval(this.timer);
      this.timer = null;
      return;
    }
    this.region.replaceChildren(...shown.map((d) => this._item(d, role)));
    this.region.hidden = false;
    if (this.timer === null) this.timer = setInterval(() => this._tick(), SECOND);
  }

  _item(d, role) {
    const due = new Date(d.due_at);
    const when = formatTime(due).long;
    const left = h('span', { class: 'deadline-left', 'data-due': String(due.getTime()), 'aria-live': 'off',
      text: countdown(due.getTime() - Date.now()) });
    const mine = role === d.party;
    const lead = mine
      ? t('deadline.you', { when })
      : t('deadline.party', { party: t(`party.${d.party}`), when });
    const amount = !d.terms ? '' : this.pays?.(d.terms) ?? formatMoney(d.terms.amount, d.terms.currency);
    return h('div', { class: `deadline${mine ? ' deadline-mine' : ''}${d.warned ? ' deadline-warned' : ''}`,
      'data-deadline': String(d.seq) },
      h('strong', { text: t('deadline.title') }), ' ', left, ' ',
      h('span', { text: lead }), ' ',
      h('span', { class: 'deadline-then', text: t(`deadline.then.${d.outcome}`, { seq: d.target, amount }) }),
      d.reason ? h('span', { class: 'deadline-asked', text: ` ${t('deadline.asked', { reason: d.reason })}` }) : null);
  }

  _tick() {
    for (const left of this.region.querySelectorAll('.deadline-left')) {
      const ms = Number(left.dataset.due) - Date.now();
      left.textContent = ms > 0 ? countdown(ms) : t('deadline.due');
    }
  }
}
