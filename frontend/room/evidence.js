// Evidence requests (rooms/evidence.py): a card per `evidence_request` in
// its channel, with the files that answered it (late ones marked: a file
// whose record came after the due date) and the moderator's verdict; the
// asked party gets "Attach for this request", a moderator "Review". The
// requests still open are listed above the conversation, in the party
// view and in the console alike.

import { h } from '../shared/dom.js';
import { formDialog } from '../shared/dialog.js';
import { formatTime, roleLabel, t } from '../i18n.js';

const VERDICTS = ['satisfied', 'not_satisfied'];

export class Evidence {
  /**
   * @param {{you(): {user, role}, act(type, fields, channel): void, writable(): boolean,
   *          name(user): string, attach(channel, file, request): void,
   *          show(channel): void}} room
   * @param {HTMLElement} summary  where the open requests are listed
   */
  constructor(room, summary) {
    this.room = room;
    this.summary = summary;
    this.requests = new Map(); // "channel#seq" -> {frame, item, answers, status, actions, review}
  }

  /** An `evidence_request` event: its card, to be placed in its channel by seq. */
  request(frame) {
    const title = t('evidence.title', { party: roleLabel(frame.party) });
    const answers = h('ul', { class: 'evidence-answers', 'aria-label': t('evidence.answers') });
    const status = h('p', { class: 'card-status' });
    const actions = h('div', { class: 'card-actions' });
    const input = h('input', { type: 'file', multiple: true, hidden: true, class: 'evidence-input',
      'aria-label': t('evidence.attachLabel', { item: frame.item }) });
    const item = h('li', { class: 'msg card evidence', 'data-request': String(frame.seq),
      'data-ts': String(new Date(frame.ts).getTime()) },
      h('article', { 'aria-label': title },
        h('p', { class: 'meta' },
          h('span', { class: 'who', 'data-user': frame.sender.user, text: this.room.name(frame.sender.user) }), ' ',
          h('span', { class: 'role', text: roleLabel(frame.sender.role) }), ' ', time(frame.ts)),
        h('h3', { class: 'card-title', text: title }),
        h('p', { class: 'body evidence-item', text: frame.item }),
        h('p', { class: 'muted evidence-due', text: t('evidence.due', { when: formatTime(new Date(frame.due_at)).long }) }),
        answers, status, actions, input));
    const entry = { frame, item, answers, status, actions, input, review: null, files: [] };
    input.addEventListener('change', () => {
      for (const file of input.files) this.room.attach(frame.channel, file, frame.seq);
      input.value = '';
    });
    this.requests.set(key(frame.channel, frame.seq), entry);
    this._draw(entry);
    this._summary();
    return item;
  }

  /** A `file` event: if it answers a request on the page, listed on its card. */
  answered(frame) {
    if (frame.request == null) return;
    const entry = this.requests.get(key(frame.channel, frame.request));
    if (!entry) return;
    const late = new Date(frame.ts) > new Date(entry.frame.due_at);
    entry.files.push({ frame, late });
    this._draw(entry);
    this._summary();
  }

  /** An `evidence_review` event: false if its request is not on this page. */
  reviewed(frame) {
    const entry = this.requests.get(key(frame.channel, frame.request));
    if (!entry) return false;
    entry.review = frame;
    this._draw(entry);
    this._summary();
    return true;
  }

  /** The room opened or closed for writing, or time passed: redraw every card. */
  refresh() {
    for (const entry of this.requests.values()) this._draw(entry);
    this._summary();
  }

  _open(entry) {
    return entry.review === null;
  }

  _draw(entry) {
    const { frame, review } = entry;
    entry.answers.replaceChildren(...entry.files.map(({ frame: file, late }) => h('li',
      { class: `evidence-answer${late ? ' late' : ''}`, 'data-file': file.file },
      h('span', { class: 'file-name', text: file.name }), ' ', time(file.ts),
      late ? h('span', { class: 'badge evidence-late', text: t('evidence.late') }) : null)));
    const overdue = this._open(entry) && new Date() > new Date(frame.due_at);
    const state = review ? review.verdict : overdue ? 'overdue' : 'open';
    entry.item.dataset.status = state;
    entry.status.textContent = review
      ? t(review.note ? 'evidence.reviewedWhy' : 'evidence.reviewed', {
        verdict: t(`evidence.verdict.${review.verdict}`), who: this.room.name(review.sender.user),
        note: review.note ?? '' })
      : t(overdue ? 'evidence.overdue' : 'evidence.open', { count: entry.files.length });
    entry.actions.replaceChildren(...this._buttons(entry));
  }

  _buttons(entry) {
    if (!this._open(entry) || !this.room.writable()) return [];
    const { frame } = entry;
    const you = this.room.you();
    if (you.role === frame.party) {
      return [h('button', { type: 'button', class: 'evidence-attach', text: t('evidence.attach'),
        'aria-label': t('evidence.attachLabel', { item: frame.item }),
        onclick: () => entry.input.click() })];
    }
    if (you.role === 'moderator') {
      return [h('button', { type: 'button', class: 'secondary evidence-review', text: t('evidence.review'),
        onclick: () => this._review(entry) })];
    }
    return [];
  }

  async _review(entry) {
    const { frame } = entry;
    const values = await formDialog({
      title: t('evidence.reviewTitle', { item: frame.item }), submit: t('evidence.reviewSubmit'),
      fields: [
        { name: 'verdict', label: t('evidence.verdict'), type: 'select',
          options: VERDICTS.map((v) => [v, t(`evidence.verdict.${v}`)]) },
        { name: 'note', label: t('evidence.note'), type: 'textarea', rows: 2 },
      ],
    });
    if (!values) return;
    this.room.act('review_evidence', { request: frame.seq, verdict: values.verdict,
      note: values.note.trim(), channel: frame.channel }, frame.channel);
  }

  _summary() {
    const open = [...this.requests.values()].filter((entry) => this._open(entry));
    this.summary.hidden = open.length === 0;
    const you = this.room.you();
    this.summary.replaceChildren(
      h('h2', { class: 'evidence-open-title', text: t('evidence.openTitle', { count: open.length }) }),
      h('ul', { class: 'evidence-open-list' }, open.map(({ frame, files }) => h('li', {
        class: 'evidence-open-item', 'data-request': String(frame.seq), 'data-channel': frame.channel },
      h('button', { type: 'button', class: 'link', onclick: () => this.room.show(frame.channel),
        text: frame.item }), ' ',
      h('span', { class: 'muted', text: t(you?.role === frame.party ? 'evidence.askedYou' : 'evidence.askedOf', {
        party: roleLabel(frame.party), when: formatTime(new Date(frame.due_at)).short, count: files.length }) }),
      files.some((f) => f.late) ? h('span', { class: 'badge evidence-late', text: t('evidence.late') }) : null))));
  }
}

/** The moderator's form asking a party for evidence; the frame's fields and channel, or null. */
export async function askForEvidence() {
  const soon = new Date(Date.now() + 3 * 24 * 3600 * 1000);
  soon.setMinutes(soon.getMinutes() - soon.getTimezoneOffset()); // datetime-local is local time
  const values = await formDialog({
    title: t('evidence.askTitle'), submit: t('evidence.askSubmit'), intro: t('evidence.askIntro'),
    fields: [
      { name: 'party', label: t('evidence.party'), type: 'select',
        options: ['client', 'freelancer'].map((p) => [p, roleLabel(p)]) },
      { name: 'where', label: t('evidence.where'), type: 'select',
        options: [['joint', t('evidence.where.joint')], ['caucus', t('evidence.where.caucus')]] },
      { name: 'item', label: t('evidence.item'), type: 'textarea', rows: 2, required: true },
      { name: 'due', label: t('evidence.dueAt'), type: 'datetime-local', required: true,
        value: soon.toISOString().slice(0, 16) },
    ],
  });
  if (!values) return null;
  const channel = values.where === 'caucus' ? `caucus:${values.party}` : 'joint';
  const due = new Date(values.due); // read as local time
  return { fields: { party: values.party, item: values.item.trim(), due_at: due.toISOString(), channel }, channel };
}

function key(channel, seq) {
  return `${channel}#${seq}`;
}

function time(iso) {
  const date = new Date(iso);
  const { short, long } = formatTime(date);
  return h('time', { datetime: date.toISOString(), title: long, text: short });
}
