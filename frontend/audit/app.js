// The auditor's page: find a room by ticket, read its transcript, export
// the signed bundle and the readable version, and verify any bundle file
// dropped onto the page. Opened with a staff token: /audit.html#token=..
// (`&room=ID` opens that room at once: the link a Zendesk note gives).

import { fragmentParams, h } from '../shared/dom.js';
import { Api } from '../shared/api.js';
import { saveBlob } from '../shared/save.js';
import { RoomFiles } from '../room/files.js';
import { applyStaticStrings, formatTime, roleLabel, stateLabel, t } from '../i18n.js';
import { publishedKeys, verifyBundle } from './verify.js';
import { parseBundle, renderTranscript } from './transcript.js';
import { addLanguageMenu } from '../shared/language.js';

const $ = (id) => document.getElementById(id);

function claims(token) {
  try {
    return JSON.parse(atob(token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
  } catch {
    return {};
  }
}

function download(bytes, name, type) {
  saveBlob(new Blob([bytes], { type }), name);
}

function showVerdict(box, verdict, source) {
  box.replaceChildren(
    h('p', { class: 'verdict-title' }, h('span', { 'aria-hidden': 'true', text: verdict.ok ? '✔ ' : '✖ ' }),
      t(verdict.ok ? 'audit.pass' : 'audit.fail', { source })),
    h('p', { class: 'verdict-reason', text: verdict.reason }));
  box.className = `verdict ${verdict.ok ? 'pass' : 'fail'}`;
  box.dataset.result = verdict.ok ? 'pass' : 'fail';
  box.hidden = false;
}

function main() {
  applyStaticStrings(document);
  document.title = t('audit.title');
  addLanguageMenu(document.querySelector('body > .topbar'));
  const { token, room } = fragmentParams(location.hash);
  const keyFor = publishedKeys(async (path) => (await fetch(path)).json());
  setUpVerifier(keyFor);
  if (!token) {
    $('audit-status').textContent = t('audit.noToken');
    $('audit-status').hidden = false;
    $('find').hidden = true;
    return;
  }
  const me = claims(token);
  $('audit-you').textContent = t('audit.you', { user: me.sub ?? '', purpose: me.purpose ?? '' });
  const api = new Api(token);

  $('find-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const results = $('find-results');
    const provider = $('find-provider').value.trim() || 'local';
    const ticket = $('find-ticket').value.trim();
    results.replaceChildren(h('li', { class: 'muted', text: t('audit.searching') }));
    let rooms;
    try {
      const q = `provider=${encodeURIComponent(provider)}&ticket=${encodeURIComponent(ticket)}`;
      rooms = (await api.get(`/api/rooms?${q}`)).rooms;
    } catch (exc) {
      results.replaceChildren(h('li', { class: 'error-text', text: t('audit.findFailed', { message: exc.message }) }));
      return;
    }
    if (!rooms.length) {
      results.replaceChildren(h('li', { class: 'muted', text: t('audit.noRoom', { ticket }) }));
      return;
    }
    results.replaceChildren(...rooms.map((room) => h('li', { class: 'found' },
      h('span', { text: t('audit.roomLine', { id: room.id, ticket: `${room.ticket.provider}/${room.ticket.id}`,
        state: stateLabel(room.state), client: room.client, freelancer: room.freelancer }) }),
      ' ',
      h('button', { type: 'button', text: t('audit.read'), onclick: () => openRoom(api, room.id, keyFor) }))));
    results.querySelector('button')?.focus();
  });
  if (room) openRoom(api, room, keyFor);
}

async function openRoom(api, roomId, keyFor) {
  const section = $('room');
  section.hidden = false;
  const body = $('room-body');
  body.replaceChildren(h('p', { class: 'muted', text: t('audit.loading') }));
  let bytes;
  let roomApi;
  let files;
  let names = {};
  try {
    const joined = await api.post(`/api/rooms/${encodeURIComponent(roomId)}/join`);
    roomApi = new Api(joined.token);
    names = joined.names ?? {};
    files = new RoomFiles(roomId, joined.token); // auditors read every channel, so every file
    bytes = await roomApi.get(`/api/rooms/${encodeURIComponent(roomId)}/export`, { as: 'bytes' });
  } catch (exc) {
    body.replaceChildren(h('p', { class: 'error-text', role: 'alert', text: t('audit.exportFailed', { message: exc.message }) }));
    return;
  }
  const bundle = parseBundle(new TextDecoder().decode(bytes));
  const room = bundle.header.room;
  const verdict = h('div', { class: 'verdict', role: 'status', hidden: true });
  const bundleButton = h('button', { type: 'button', text: t('audit.downloadBundle'),
    onclick: () => download(bytes, `${roomId}.transcript.jsonl`, 'application/x-ndjson') });
  const htmlButton = h('button', { type: 'button', class: 'secondary', text: t('audit.downloadHtml'),
    onclick: async () => {
      try {
        const html = await roomApi.get(`/api/rooms/${encodeURIComponent(roomId)}/export?format=html`, { as: 'bytes' });
        download(html, `${roomId}.transcript.html`, 'text/html');
      } catch (exc) {
        verdict.textContent = exc.message;
      }
    } });
  const channels = [...new Set(bundle.records.map((r) => r.channel))];
  const filter = h('fieldset', { class: 'channel-filter' },
    h('legend', { text: t('audit.channels') }),
    channels.map((c) => h('label', {},
      h('input', { type: 'checkbox', checked: true, value: c, onchange: (e) => {
        for (const li of body.querySelectorAll(`li.record[data-channel="${c}"]`)) li.hidden = !e.target.checked;
      } }), ` ${t(`channel.${c}`)}`)));
  body.replaceChildren(
    h('h2', { text: t('audit.roomTitle', { ticket: `${room.ticket.provider}/${room.ticket.id}` }) }),
    h('p', { class: 'muted', text: t('audit.roomMeta', { id: room.id, state: stateLabel(room.state),
      count: bundle.records.length, when: formatTime(new Date(bundle.header.exported_at)).long }) }),
    h('p', { class: 'muted', text: t('audit.people', {
      people: room.participants.map((p) => (Object.hasOwn(names, p.user)
        ? t('audit.personNamed', { name: names[p.user], user: p.user, role: roleLabel(p.role) })
        : t('audit.person', { user: p.user, role: roleLabel(p.role) }))).join(t('list.and')) }) }),
    verdict,
    h('div', { class: 'export-buttons' }, bundleButton, htmlButton),
    filter,
    renderTranscript(bundle.records, room.shredded, { download: (facts) => files.save(facts), names,
      people: room.participants }));
  showVerdict(verdict, await verifyBundle(bytes, keyFor), t('audit.thisExport'));
  $('room-body').focus();
}

function setUpVerifier(keyFor) {
  const zone = $('drop-zone');
  const input = $('verify-file');
  const box = $('verify-result');
  const check = async (file) => {
    if (!file) return;
    box.hidden = false;
    box.className = 'verdict';
    box.textContent = t('audit.verifying', { name: file.name });
    const bytes = new Uint8Array(await file.arrayBuffer());
    showVerdict(box, await verifyBundle(bytes, keyFor), file.name);
  };
  input.addEventListener('change', () => check(input.files[0]));
  for (const type of ['dragenter', 'dragover']) {
    zone.addEventListener(type, (e) => {
      e.preventDefault();
      zone.classList.add('dragging');
    });
  }
  zone.addEventListener('dragleave', () => zone.classList.remove('dragging'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('dragging');
    check(e.dataTransfer.files[0]);
  });
}

main();
