// The moderator's actions on the open room: private sessions, macros, a
// settlement proposal, floor control, and the lifecycle moves (resolve,
// escalate with a brief, transfer with a hand-off brief, fail the mediation
// (the parties may then opt in to arbitration), close); deadlines with a
// default outcome (set, withdraw).

import { h } from '../shared/dom.js';
import { formDialog, infoDialog } from '../shared/dialog.js';
import { roleLabel, t } from '../i18n.js';
import { askForEvidence } from '../room/evidence.js';
import { teamDialog } from './team.js';
import { MenuButton } from './menu.js';
import { PARTIES } from '../room/roles.js';


export class Toolbar {
  constructor(view, api, roomId) {
    this.view = view;
    this.api = api;
    this.roomId = roomId;
    this.buttons = {};
    const b = (name, onclick, extra = {}) => {
      this.buttons[name] = h('button', { type: 'button', class: extra.className ?? 'secondary',
        'data-action': name, 'aria-keyshortcuts': extra.key, onclick }, t(`tool.${name}`),
      extra.key ? h('kbd', { 'aria-hidden': 'true', text: extra.key.toUpperCase() }) : null);
      return this.buttons[name];
    };
    const el = view.el.toolbar;
    el.setAttribute('role', 'group');
    el.setAttribute('aria-label', t('tool.label'));
    // the hierarchy (issue 18): what moves the case on, the tools, then the rare and
    // weighty moves in a menu (console/menu.js); every shortcut still works
    const main = { className: 'primary' };
    const rare = { className: 'menu-item' };
    const danger = { className: 'menu-item danger-item' };
    this.more = new MenuButton({ label: t('tool.more'), menuLabel: t('tool.moreLabel'),
      className: 'tool-more' }, [
      b('escalate', () => this.escalate(), { ...danger, key: 'e' }),
      b('transfer', () => this.transfer(), { ...rare, key: 't' }),
      b('fail', () => this.fail(), danger),
      null,
      b('close', () => this.close(), danger)]);
    el.replaceChildren(
      h('div', { class: 'tool-group tool-primary', role: 'group', 'aria-label': t('tool.primary') },
        b('caucusClient', () => this.caucus('client'), { ...main, key: 'c' }),
        b('caucusFreelancer', () => this.caucus('freelancer'), { ...main, key: 'f' }),
        b('propose', () => this.view.proposals.openForm(), { ...main, key: 'p' }),
        b('resolve', () => this.resolve(), { className: 'primary resolve', key: 'r' })),
      h('div', { class: 'tool-group tool-tools', role: 'group', 'aria-label': t('tool.tools') },
        b('macros', () => this.macros(), { key: 'm' }),
        b('evidence', () => this.evidence()),
        b('deadline', () => this.deadline()),
        b('withdrawDeadline', () => this.withdrawDeadline()),
        b('mute', () => this.mute(), { key: 'u' }),
        b('pause', () => this.pause(), { key: 'a' }),
        b('team', () => teamDialog(this.view, (...a) => this.act(...a)))),
      this.more.root);
    el.hidden = false;
    view.onChange = () => this.refresh();
    this.refresh();
  }

  act(type, fields, channel) {
    this.view.actions.onAct(type, fields, channel);
  }

  refresh() {
    const state = this.view.room?.state;
    const mediating = state === 'mediating';
    for (const name of ['caucusClient', 'caucusFreelancer', 'propose', 'evidence', 'mute', 'pause',
      'resolve', 'escalate', 'transfer', 'fail', 'deadline', 'team']) {
      this.buttons[name].disabled = !mediating;
    }
    this.buttons.withdrawDeadline.disabled = !mediating || this.view.deadlines.open.size === 0;
    this.buttons.macros.disabled = !state || state === 'closed';
    this.buttons.close.disabled = !['resolved', 'escalated', 'mediation_failed'].includes(state);
    this.buttons.caucusClient.setAttribute('aria-pressed', String(this.view.caucus === 'client'));
    this.buttons.caucusFreelancer.setAttribute('aria-pressed', String(this.view.caucus === 'freelancer'));
    const paused = this.view.pausedUntil && this.view.pausedUntil > new Date();
    this.buttons.pause.firstChild.textContent = t(paused ? 'tool.resume' : 'tool.pause');
  }

  /** Open (or close) a private session with `party` and show its tab. */
  caucus(party) {
    const open = this.view.caucus !== party;
    if (open && this.view.caucus) this.act('caucus', { party: this.view.caucus, open: false }, 'room');
    this.act('caucus', { party, open }, 'room');
    if (open) this.view.activateIndex([...this.view.panes.keys()].indexOf(`caucus:${party}`));
  }

  async macros() {
    let macros;
    try {
      macros = (await this.api.get(`/api/rooms/${encodeURIComponent(this.roomId)}/macros`)).macros;
    } catch (exc) {
      this.view.notice({ code: exc.code, message: exc.message });
      return;
    }
    const list = h('ul', { class: 'macro-list' }, macros.length ? macros.map((m) => h('li', {},
      h('button', { type: 'button', class: 'macro', 'data-macro': m.name, onclick: () => {
        dialog.close();
        this.view.insertText(m.text);
      } }, h('strong', { text: m.title }), h('span', { class: 'macro-text', text: m.text }))))
      : h('li', { class: 'muted', text: t('macros.none') }));
    const dialog = infoDialog(t('macros.title'), h('div', {},
      h('p', { class: 'muted', text: t('macros.intro', { channel: this._activeLabel() }) }), list),
    { className: 'macros-dialog' });
    dialog.querySelector('button.macro')?.focus();
  }

  _activeLabel() {
    return this.view.panes.get(this.view.active)?.tab.textContent ?? '';
  }

  /** Ask a party for a named item by a date (an `evidence_request`). */
  async evidence() {
    const asked = await askForEvidence();
    if (asked) this.act('request_evidence', asked.fields, asked.channel);
  }

  async mute() {
    const muted = PARTIES.filter((p) => (this.view.muted.get(p) ?? 0) > new Date());
    const values = await formDialog({
      title: t('mute.title'), submit: t('mute.submit'),
      fields: [
        { name: 'party', label: t('mute.party'), type: 'select',
          options: PARTIES.map((p) => [p, roleLabel(p) + (muted.includes(p) ? ` (${t('people.muted')})` : '')]) },
        { name: 'action', label: t('mute.action'), type: 'select',
          options: [['mute', t('mute.mute')], ['unmute', t('mute.unmute')]],
          value: muted.length ? 'unmute' : 'mute' },
        { name: 'minutes', label: t('mute.minutes'), type: 'number', value: '10', min: '1', max: '1440' },
        { name: 'reason', label: t('mute.reason') },
      ],
    });
    if (!values) return;
    this.act('floor', { action: values.action, party: values.party,
      minutes: Number(values.minutes) || 10, reason: values.reason }, 'room');
  }

  async pause() {
    if (this.view.pausedUntil && this.view.pausedUntil > new Date()) {
      this.act('floor', { action: 'resume' }, 'room');
      return;
    }
    const values = await formDialog({
      title: t('pause.title'), submit: t('pause.submit'),
      fields: [
        { name: 'minutes', label: t('mute.minutes'), type: 'number', value: '5', min: '1', max: '1440' },
        { name: 'reason', label: t('mute.reason') },
      ],
    });
    if (values) this.act('floor', { action: 'pause', minutes: Number(values.minutes) || 5, reason: values.reason }, 'room');
  }

  async resolve() {
    const values = await formDialog({
      title: t('resolve.title'), submit: t('resolve.submit'), intro: t('resolve.intro'),
      fields: [{ name: 'reason', label: t('resolve.reason'), type: 'textarea', required: true }],
    });
    if (values) this.act('transition', { to: 'resolved', reason: values.reason }, 'room');
  }

  async escalate() {
    const values = await formDialog({
      title: t('escalate.title'), submit: t('escalate.submit'), danger: true,
      fields: [
        { name: 'reason', label: t('escalate.reason'), required: true },
        { name: 'brief', label: t('handoff.brief'), type: 'textarea', rows: 5, required: true },
      ],
    });
    if (values) {
      this.act('transition', { to: 'escalated', reason: values.reason, brief: values.brief }, 'room');
    }
  }

  async transfer() {
    const values = await formDialog({
      title: t('transfer.title'), submit: t('transfer.submit'),
      fields: [
        { name: 'to', label: t('transfer.to'), required: true },
        { name: 'brief', label: t('handoff.brief'), type: 'textarea', rows: 5, required: true },
      ],
    });
    if (values) this.act('transfer', { to: values.to.trim(), brief: values.brief }, 'notes');
  }

  async fail() {
    const values = await formDialog({
      title: t('fail.title'), submit: t('fail.submit'), intro: t('fail.intro'), danger: true,
      fields: [{ name: 'reason', label: t('escalate.reason'), type: 'textarea', required: true }],
    });
    if (values) this.act('transition', { to: 'mediation_failed', reason: values.reason }, 'room');
  }

  async close() {
    const values = await formDialog({
      title: t('closeRoom.title'), submit: t('closeRoom.submit'), intro: t('closeRoom.intro'),
      fields: [{ name: 'reason', label: t('resolve.reason') }],
    });
    if (values) this.act('transition', { to: 'closed', reason: values.reason }, 'room');
  }

  /** Set a deadline on a party: answer by a time (or in N business days), or an outcome. */
  async deadline() {
    const offer = this.view.proposals.offer;
    const outcomes = ['escalate', 'resolve', ...(offer ? ['accept_proposal'] : [])];
    const values = await formDialog({
      title: t('deadlineForm.title'), submit: t('deadlineForm.submit'), intro: t('deadlineForm.intro'),
      fields: [
        { name: 'party', label: t('deadlineForm.party'), type: 'select',
          options: PARTIES.map((p) => [p, roleLabel(p)]) },
        { name: 'outcome', label: t('deadlineForm.outcome'), type: 'select',
          options: outcomes.map((o) => [o, t(`deadlineForm.outcome.${o}`, { seq: offer?.seq ?? '' })]) },
        { name: 'business_days', label: t('deadlineForm.businessDays'), type: 'number', value: '3',
          min: '1', max: '250' },
        { name: 'at', label: t('deadlineForm.at'), type: 'datetime-local' },
        { name: 'amount', label: t('deadlineForm.amount') },
        { name: 'currency', label: t('deadlineForm.currency'), value: 'USD' },
        { name: 'reason', label: t('deadlineForm.reason'), type: 'textarea' },
      ],
    });
    if (!values) return;
    const fields = { party: values.party, outcome: values.outcome, reason: values.reason };
    if (values.at) fields.at = new Date(values.at).toISOString(); // the local time entered
    else fields.business_days = Number(values.business_days) || 3;
    if (values.outcome === 'accept_proposal') fields.proposal = offer?.seq;
    if (values.outcome === 'resolve') Object.assign(fields, { amount: values.amount.trim(), currency: values.currency.trim() });
    this.act('deadline', fields, 'room');
  }

  async withdrawDeadline() {
    const open = [...this.view.deadlines.open.values()];
    if (open.length === 0) return;
    const values = await formDialog({
      title: t('deadlineForm.withdrawTitle'), submit: t('deadlineForm.withdraw'),
      fields: [
        { name: 'deadline', label: t('deadlineForm.which'), type: 'select',
          options: open.map((d) => [String(d.seq), t('deadlineForm.option', { seq: d.seq, party: roleLabel(d.party) })]) },
        { name: 'reason', label: t('deadlineForm.reason') },
      ],
    });
    if (values) this.act('withdraw_deadline', { deadline: Number(values.deadline), reason: values.reason }, 'room');
  }

  /** A keyboard shortcut: true if it was one of ours. */
  key(k) {
    const map = { c: 'caucusClient', f: 'caucusFreelancer', m: 'macros', p: 'propose', u: 'mute',
      a: 'pause', r: 'resolve', e: 'escalate', t: 'transfer' };
    const button = this.buttons[map[k]];
    if (!button) return false;
    if (!button.disabled) button.click();
    return true;
  }
}
