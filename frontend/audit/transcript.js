// A bundle's records as a readable transcript: every record in room order,
// its channel labelled, and each message with its edit history beneath it.

import { h } from '../shared/dom.js';
import { channelLabel, fileType, formatSize, formatTime, roleLabel, t } from '../i18n.js';
import { eventText } from '../room/events.js';
import { partiesOf, paysSentence } from '../room/amounts.js';
import { avatar } from '../room/identity.js';

/** Parse a bundle's lines (already verified or not) into {header, records, footer}. */
export function parseBundle(text) {
  const out = { header: null, records: [], footer: null };
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    let obj;
    try {
      obj = JSON.parse(line);
    } catch {
      continue;
    }
    if (obj.type === 'header') out.header = obj;
    else if (obj.type === 'record') out.records.push(obj);
    else if (obj.type === 'footer') out.footer = obj;
  }
  return out;
}

function payload(record) {
  try {
    return JSON.parse(record.body);
  } catch {
    return {};
  }
}

/** A stored record in the shape of the wire's `event` frame (see codec.py). */
function asEvent(record) {
  const p = payload(record);
  const frame = { kind: record.kind, channel: record.channel, sender: record.sender, ts: record.ts, seq: record.seq };
  switch (record.kind) {
    case 'state': return { ...frame, state: p.to, reason: p.reason, terms: p.terms, target: p.proposal };
    case 'proposal': return { ...frame, terms: p.terms, expires_at: p.expires_at, target: p.counters };
    case 'response': return { ...frame, target: p.proposal, answer: p.answer };
    default: return { ...frame, ...p };
  }
}

function describe(record, files, name, removed, people) {
  if (record.body_sha256 !== undefined) { // redacted: the redaction that names it says why
    const by = removed.get(`${record.channel}#${record.seq}`);
    return by ? t('audit.redacted', { who: name(by.sender.user), reason: t(`redaction.${payload(by).reason}`) })
      : t('audit.redacted', { who: '?', reason: '?' });
  }
  if (record.kind === 'redaction') {
    const { target, reason } = payload(record);
    return t('audit.redaction', { target, reason: t(`redaction.${reason}`) });
  }
  if (record.kind === 'message') return record.body;
  if (record.kind === 'file') {
    const f = payload(record);
    return t('audit.file', { name: f.name, type: fileType(f.content_type).label, size: formatSize(f.size), sha256: f.sha256 });
  }
  if (record.kind === 'file_deleted') {
    const { file, reason } = payload(record);
    return t('audit.fileDeleted', { name: files.get(file)?.name ?? file, why: reason ? t('event.why', { reason }) : '' });
  }
  if (record.kind === 'joined') return t('audit.joined');
  const frame = asEvent(record);
  if (record.kind === 'proposal') {
    const { terms } = frame;
    return t('audit.proposal', {
      seq: record.seq, amount: paysSentence(terms, people, name),
      milestone: terms.milestone ? t('audit.milestone', { milestone: terms.milestone }) : '',
      text: terms.text ? t('audit.text', { text: terms.text }) : '',
    });
  }
  if (record.kind === 'edit') return t('audit.edit', { target: frame.target, text: frame.text });
  if (record.kind === 'retract') return t('audit.retract', { target: frame.target });
  return eventText(frame, null, name, people) ?? record.kind;
}

function time(iso) {
  const date = new Date(iso);
  const { short, long } = formatTime(date);
  return h('time', { datetime: iso, title: long, text: short });
}

/** A file record's Download button (the file's bytes, fetched with the auditor's room token). */
function fileActions(facts, deleted, download) {
  if (deleted.has(facts.file)) return h('p', { class: 'record-file muted', text: t('audit.fileGone') });
  if (!download) return null;
  const error = h('span', { class: 'error-text', role: 'status' });
  const button = h('button', { type: 'button', class: 'secondary', text: t('file.download'),
    'aria-label': t('audit.downloadFile', { name: facts.name }),
    onclick: async () => {
      error.textContent = '';
      try {
        await download(facts);
      } catch (exc) {
        error.textContent = t('file.downloadFailed', { name: facts.name, message: exc.message });
      }
    } });
  return h('p', { class: 'record-file' }, button, error);
}

/**
 * @param {object[]} records  the bundle's records, in room order
 * @param {{download?(facts): Promise<void>, names?: Object<string, string>,
 *          people?: {user, role}[]}} options  how to fetch a file, if the reader may; the
 *   people's display names by user id (ids show without); the room's participants (who pays
 *   whom: the client and freelancer who wrote in the transcript when not given)
 */
export function renderTranscript(records, shredded, { download = null, names = {}, people = null } = {}) {
  const known = new Map(Object.entries(names));
  const parties = people ?? partiesOf(records);
  const name = (user) => known.get(user) ?? user;
  const rows = new Map(); // "channel#seq" -> history list of a message
  const files = new Map(); // file id -> its facts
  const deleted = new Set(records.filter((r) => r.kind === 'file_deleted' && !shredded)
    .map((r) => payload(r).file));
  const removed = new Map(); // "channel#seq" -> the redaction record naming it
  for (const r of records) {
    if (r.kind !== 'redaction' || shredded) continue;
    const { target, edits = [] } = payload(r);
    for (const seq of [target, ...edits]) removed.set(`${r.channel}#${seq}`, r);
  }
  const items = records.map((r) => {
    if (r.kind === 'file' && !shredded) files.set(payload(r).file, payload(r));
    const body = shredded ? t('audit.shredded') : describe(r, files, name, removed, parties);
    const history = h('ul', { class: 'history', hidden: true });
    if (r.kind === 'message') rows.set(`${r.channel}#${r.seq}`, history);
    if ((r.kind === 'edit' || r.kind === 'retract') && !shredded && r.body !== null) {
      const target = rows.get(`${r.channel}#${payload(r).target}`);
      if (target) {
        target.hidden = false;
        target.append(h('li', {}, time(r.ts), ' ',
          r.kind === 'edit' ? t('audit.editedTo', { text: payload(r).text }) : t('audit.retracted')));
      }
    }
    return h('li', { class: `record kind-${r.kind}`, 'data-channel': r.channel, 'data-position': String(r.position) },
      h('p', { class: 'record-meta' },
        // a record is "#seq" in its channel on every page (the party view, the console, here):
        // the room-wide position only on hover (docs/web.md, "One number for a record")
        h('span', { class: `channel-tag channel-${r.channel.replace(':', '-')}`, text: channelLabel(r.channel, 'auditor') }),
        h('span', { class: 'record-number', 'data-seq': String(r.seq),
          title: t('record.position', { position: r.position }), text: `#${r.seq}` }),
        avatar(name(r.sender.user), r.sender.role),
        h('span', { class: 'who', 'data-user': r.sender.user, text: name(r.sender.user) }),
        known.has(r.sender.user) ? h('span', { class: 'user-id', text: r.sender.user }) : null,
        h('span', { class: 'role', text: roleLabel(r.sender.role) }),
        time(r.ts),
        r.kind !== 'message' ? h('span', { class: 'kind', text: r.kind }) : null),
      h('p', { class: 'record-body', text: body }),
      r.kind === 'message' ? history : null,
      r.kind === 'file' && !shredded ? fileActions(payload(r), deleted, download) : null);
  });
  return h('ol', { class: 'transcript', 'aria-label': t('audit.transcript') }, items);
}
