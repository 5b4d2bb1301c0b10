// The moderator's queue: rooms waiting for a moderator (new or escalated)
// and the rooms this moderator holds, with live clocks and overdue flags.
// Refreshed on every `queue` server-sent event, and every 30 s regardless.
// The event stream is read with fetch (shared/events.js), never EventSource.

import { h } from '../shared/dom.js';
import { EventStream } from '../shared/events.js';
import { formatTime, roleLabel, stateLabel, t } from '../i18n.js';
import { targetsLine } from './sla.js';
import { problemBox, problemKind } from './problem.js';

const REFRESH_MS = 30_000;
const DEBOUNCE_MS = 200;

/** A server time; one without a zone is UTC (SQLite hands back naive datetimes). */
export function parseTime(iso) {
  return new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(iso) ? iso : `${iso}Z`);
}

/** "4:05", "1:02:03": how long since `iso`. */
export function elapsed(iso, now = Date.now()) {
  const s = Math.max(0, Math.floor((now - parseTime(iso).getTime()) / 1000));
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return hh ? `${hh}:${String(mm).padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}

/** A routing reason from the server ("speaks de", "tier 2 > 1", "lacks skill payments"),
 *  in the console's language; one it does not know shows as sent. */
export function reasonText(reason) {
  const patterns = [
    [/^speaks (\S+)$/, (m) => t('routing.speaks', { language: m[1] })],
    [/^does not speak (\S+)$/, (m) => t('routing.notSpeaks', { language: m[1] })],
    [/^tier (\d+) ≤ (\d+)$/, (m) => t('routing.tierFits', { tier: m[1], max: m[2] })],
    [/^tier (\d+) > (\d+)$/, (m) => t('routing.tierAbove', { tier: m[1], max: m[2] })],
    [/^skill (\S+)$/, (m) => t('routing.skill', { skill: m[1] })],
    [/^lacks skill (\S+)$/, (m) => t('routing.lacksSkill', { skill: m[1] })],
  ];
  for (const [pattern, text] of patterns) {
    const found = reason.match(pattern);
    if (found) return text(found);
  }
  return reason;
}

/** The room's language and skills, and why it fits this moderator (or not). */
function routingLine(room) {
  const tags = [h('span', { class: 'tag language', text: t('queue.language', { language: room.language ?? '' }) })];
  for (const skill of room.skills ?? []) tags.push(h('span', { class: 'tag skill', text: skill }));
  const fit = room.routing;
  const verdict = fit ? h('strong', { class: `routing-verdict ${fit.match ? 'match' : 'miss'}`,
    text: t(fit.match ? 'routing.match' : 'routing.miss') }) : null;
  const reasons = fit ? h('ul', { class: 'flags routing-reasons', 'aria-label': t('routing.why') },
    fit.reasons.map((r) => h('li', { class: 'flag', text: reasonText(r) }))) : null;
  return h('div', { class: 'queue-routing' }, h('p', { class: 'queue-tags' }, tags, ' ', verdict), reasons);
}

export class Queue {
  constructor(root, api, me, { onOpen, onClaim, announce, onProblem = () => {}, onRender = () => {} }) {
    this.root = root;
    this.api = api;
    this.me = me;
    this.onOpen = onOpen;
    this.onClaim = onClaim;
    this.announce = announce;
    this.onProblem = onProblem; // a refused token or a failure (console/problem.js)
    this.onRender = onRender;
    this.loaded = false; // read once at least: before that, no list (and never "Nobody is waiting")
    this.problem = null;
    this.waiting = [];
    this.mine = [];
    this.current = null; // room id open in the room pane
    this.timer = null;
    this.lists = {
      waiting: h('ol', { class: 'queue-list', 'aria-labelledby': 'queue-waiting-title' }),
      mine: h('ol', { class: 'queue-list', 'aria-labelledby': 'queue-mine-title' }),
    };
    this.counts = {
      waiting: h('span', { class: 'count' }),
      mine: h('span', { class: 'count' }),
    };
    this.error = h('div', { class: 'queue-error' });
    root.replaceChildren(
      this.error, // first: a failure is the first thing read, never an empty list
      h('h2', { id: 'queue-waiting-title', class: 'queue-title' },
        t('queue.waiting'), ' ', this.counts.waiting),
      this.lists.waiting,
      h('h2', { id: 'queue-mine-title', class: 'queue-title' }, t('queue.mine'), ' ', this.counts.mine),
      this.lists.mine);
    setInterval(() => this._tick(), 1000);
  }

  start() {
    this.refresh();
    setInterval(() => this.refresh(), REFRESH_MS);
    // Read with fetch, the token in a header: a URL (EventSource's only way) gets logged.
    this.events = new EventStream(`${this.api.base}/api/queue/events`, this.api.token, {
      on: { queue: () => this.soon() },
      onOpen: () => this.soon(), // (re)connected: catch up on what passed meanwhile
      onFail: (status) => {
        this.problem = { status, message: t('queue.streamFailed') };
        this.onProblem(this.problem);
        this.render();
      },
    }).start();
  }

  /** Re-read the queue shortly (events come in bursts). */
  soon() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.refresh(), DEBOUNCE_MS);
  }

  async refresh() {
    try {
      const me = encodeURIComponent(this.me);
      const [waiting, mine] = await Promise.all([
        this.api.get('/api/queue'), this.api.get(`/api/queue?moderator=${me}`)]);
      const before = new Set(this.waiting.map((r) => r.id));
      this.waiting = waiting.rooms;
      this.mine = mine.rooms;
      this.problem = null;
      this.loaded = true;
      const arrived = this.waiting.filter((r) => !before.has(r.id)).length;
      if (before.size && arrived) this.announce(t('queue.arrived', { count: arrived }));
    } catch (exc) {
      this.problem = exc;
      this.onProblem(exc);
    }
    this.render();
  }

  render() {
    const focused = document.activeElement?.closest?.('.queue-item')?.dataset.room;
    for (const which of ['waiting', 'mine']) {
      const rooms = this[which];
      this.counts[which].textContent = this.loaded ? `(${rooms.length})` : '';
      const items = rooms.map((r) => this._item(r, which));
      if (!items.length && this.loaded && !this.problem) {
        items.push(h('li', { class: 'queue-empty muted', text: t(`queue.empty.${which}`) }));
      }
      this.lists[which].replaceChildren(...items);
    }
    const shown = this.problem ? `${problemKind(this.problem)} ${this.loaded}` : '';
    if (shown !== this.shown) { // the same problem is not announced again every 30 s
      this.shown = shown;
      // a refused token is said by the page's banner (onProblem), once for the whole page
      const own = this.problem && problemKind(this.problem) !== 'token';
      this.error.replaceChildren(...(own ? [problemBox(this.problem,
        { retry: () => this.refresh(), stale: this.loaded })] : []));
    }
    this.onRender(this);
    if (focused) this.root.querySelector(`.queue-item[data-room="${focused}"] button`)?.focus();
    this._tick();
  }

  _item(room, which) {
    const overdue = room.overdue.length > 0
      || (room.next_alarm_at && parseTime(room.next_alarm_at) <= new Date());
    const clocks = [];
    if (which === 'waiting' && room.waiting_since) {
      clocks.push(this._clock(t('queue.clock.queued'), room.waiting_since));
    }
    for (const [party, since] of Object.entries(room.waiting ?? {})) {
      clocks.push(this._clock(t('queue.clock.waits', { party: roleLabel(party) }), since));
    }
    for (const [party, since] of Object.entries(room.awaiting_reply ?? {})) {
      clocks.push(this._clock(t('queue.clock.reply', { party: roleLabel(party) }), since));
    }
    const flags = room.overdue.map((o) => h('li', { class: 'flag overdue',
      text: t(`queue.overdue.${o.clock}`, { party: o.party ? roleLabel(o.party) : '' }) }));
    if (overdue && !flags.length) flags.push(h('li', { class: 'flag overdue', text: t('queue.overdue') }));
    if (room.caucus) flags.push(h('li', { class: 'flag', text: t('queue.caucus', { party: roleLabel(room.caucus) }) }));
    if (room.offer) flags.push(h('li', { class: 'flag', text: t('queue.offer', { seq: room.offer }) }));
    // the parties negotiate by themselves while the room waits (docs/protocol.md, self-serve)
    if (room.negotiating) flags.push(h('li', { class: 'flag negotiating', text: t('queue.negotiating') }));
    if (room.opt_in_until) {
      const until = formatTime(parseTime(room.opt_in_until)).short;
      flags.push(h('li', { class: 'flag', text: t('queue.optIn', { until }) }));
    }
    for (const d of room.deadlines ?? []) {
      flags.push(h('li', { class: 'flag deadline', text: t('queue.deadline', {
        party: roleLabel(d.party), when: formatTime(parseTime(d.due_at)).short }) }));
    }
    const claimable = room.state === 'waiting' || room.state === 'escalated';
    const label = `${room.ticket.provider}/${room.ticket.id}`;
    const button = claimable && which === 'waiting' && this.onClaim // observers never claim
      ? h('button', { type: 'button', class: 'claim', text: t('queue.claim'),
        'aria-label': t('queue.claimLabel', { ticket: label }), onclick: () => this.onClaim(room) })
      : h('button', { type: 'button', class: 'secondary open', text: t('queue.open'),
        'aria-label': t('queue.openLabel', { ticket: label }), onclick: () => this.onOpen(room) });
    return h('li', { class: `queue-item${overdue ? ' is-overdue' : ''}`, 'data-room': room.id,
      'aria-current': room.id === this.current ? 'true' : null },
      h('p', { class: 'queue-head' },
        h('strong', { class: 'ticket', text: label }), ' ',
        h('span', { class: `tag priority-${room.priority}`, text: t(`priority.${room.priority}`) }),
        room.tier > 1 ? h('span', { class: 'tag', text: t('queue.tier', { tier: room.tier }) }) : null),
      h('p', { class: 'queue-who muted', text: t('queue.parties', {
        client: room.client, freelancer: room.freelancer, state: stateLabel(room.state) }) }),
      clocks.length ? h('p', { class: 'clocks' }, clocks) : null,
      room.targets ? h('p', { class: 'queue-targets muted',
        text: t('queue.targets', { line: targetsLine(room.targets) }) }) : null,
      flags.length ? h('ul', { class: 'flags' }, flags) : null,
      routingLine(room),
      button);
  }

  _clock(label, since) {
    return h('span', { class: 'clock' }, `${label} `,
      h('time', { class: 'since', 'data-since': since, datetime: since, text: elapsed(since) }));
  }

  _tick() {
    const now = Date.now();
    for (const node of this.root.querySelectorAll('time.since')) {
      node.textContent = elapsed(node.dataset.since, now);
    }
  }

  /** Move keyboard focus to the next (+1) or previous (-1) room in the queue. */
  move(step) {
    const buttons = [...this.root.querySelectorAll('.queue-item button')];
    if (!buttons.length) return;
    const i = buttons.indexOf(document.activeElement);
    const next = i === -1 ? (step > 0 ? 0 : buttons.length - 1)
      : (i + step + buttons.length) % buttons.length;
    buttons[next].focus();
  }
}
