// Attaching files from a composer: the Attach button, drag-and-drop onto the
// conversation, pasting an image. Each upload is a row with a labelled
// <progress>, Cancel while it runs, the server's reason if it is refused,
// and Retry when the network failed. The file's card appears in the
// conversation when the server announces it (a `file` event), as for anyone.

import { h } from '../shared/dom.js';
import { errorTitle, formatPercent, formatSize, has, t } from '../i18n.js';

const DONE_SHOWN_MS = 6000;
let counter = 0;
let guarded = false;

const carriesFiles = (e) => [...(e.dataTransfer?.types ?? [])].includes('Files');

/** A file dropped just beside a conversation must not make the browser leave the room to show it. */
function guardWindow() {
  if (guarded) return;
  guarded = true;
  for (const type of ['dragover', 'drop']) {
    window.addEventListener(type, (e) => {
      if (e.defaultPrevented || !carriesFiles(e)) return;
      e.preventDefault();
      e.dataTransfer.dropEffect = 'none';
    });
  }
}

function reason(error) {
  if (error.code === 'network') return t('upload.network');
  const title = has(`upload.error.${error.code}`) ? t(`upload.error.${error.code}`) : errorTitle(error.code);
  return error.message ? `${title}: ${error.message}` : title;
}

export class Uploads {
  /** @param {{files(): import('./files.js').RoomFiles, announce(text): void}} room */
  constructor(room) {
    this.room = room;
    guardWindow();
  }

  /** The controls for one channel's composer: {button, input, list}. */
  controls(channel, label) {
    const list = h('ul', { class: 'uploads', 'aria-label': t('upload.list', { channel: label }) });
    const input = h('input', { type: 'file', multiple: true, hidden: true, class: 'file-input',
      'aria-label': t('upload.choose', { channel: label }) });
    const button = h('button', { type: 'button', class: 'secondary attach', text: t('upload.attach'),
      'aria-label': t('upload.attachLabel', { channel: label }), onclick: () => input.click() });
    input.addEventListener('change', () => {
      for (const file of input.files) this.start(channel, file, list);
      input.value = ''; // the same file may be chosen again
    });
    return { button, input, list };
  }

  /** Files dropped on `zone` (a conversation panel) go to `channel` while `enabled()`. */
  acceptDrops(zone, channel, list, enabled) {
    const hasFiles = (e) => enabled() && carriesFiles(e);
    zone.dataset.dropLabel = t('upload.drop');
    for (const type of ['dragenter', 'dragover']) {
      zone.addEventListener(type, (e) => {
        if (!hasFiles(e)) return;
        e.preventDefault();
        e.dataTransfer.dropEffect = 'copy';
        zone.classList.add('drop-target');
      });
    }
    zone.addEventListener('dragleave', (e) => {
      if (!zone.contains(e.relatedTarget)) zone.classList.remove('drop-target');
    });
    zone.addEventListener('drop', (e) => {
      zone.classList.remove('drop-target');
      if (!hasFiles(e)) return;
      e.preventDefault();
      for (const file of e.dataTransfer.files) this.start(channel, file, list);
    });
  }

  /** An image pasted into `input` (a composer) is attached; pasted text is left alone. */
  acceptPaste(input, channel, list) {
    input.addEventListener('paste', (e) => {
      const files = [...(e.clipboardData?.files ?? [])].filter((f) => f.type.startsWith('image/'));
      if (!files.length || input.disabled) return;
      e.preventDefault();
      for (const file of files) this.start(channel, file, list);
    });
  }

  /** Upload `file` to `channel` (answering the evidence request `request`, if given). */
  start(channel, file, list, request = null) {
    counter += 1;
    const id = `upload-${counter}`;
    const progress = h('progress', { id, max: String(Math.max(file.size, 1)), value: '0' });
    const label = h('label', { for: id, class: 'upload-name' });
    const status = h('span', { class: 'upload-status' });
    const buttons = h('span', { class: 'upload-buttons' });
    const row = h('li', { class: 'upload', 'data-state': 'uploading' }, label, progress, status, buttons);
    list.append(row);
    const ui = { row, label, progress, status, buttons, file, request };
    this._send(channel, ui);
  }

  _send(channel, ui) {
    const { file } = ui;
    this._state(ui, 'uploading', t('upload.sending', { name: file.name, size: formatSize(file.size) }));
    ui.progress.value = 0;
    ui.status.textContent = formatPercent(0);
    const transfer = this.room.files().upload(channel, file, (loaded, total) => {
      ui.progress.max = Math.max(total, 1);
      ui.progress.value = loaded;
      ui.status.textContent = formatPercent(Math.floor((100 * loaded) / Math.max(total, 1)) / 100);
    }, ui.request);
    ui.buttons.replaceChildren(h('button', { type: 'button', class: 'secondary upload-cancel',
      'aria-label': t('upload.cancelLabel', { name: file.name }), text: t('upload.cancel'),
      onclick: () => transfer.abort() }));
    transfer.done.then(() => {
      ui.progress.value = ui.progress.max;
      ui.status.textContent = formatPercent(1);
      this._state(ui, 'done', t('upload.done', { name: file.name }));
      ui.buttons.replaceChildren();
      this.room.announce(t('upload.done', { name: file.name }));
      setTimeout(() => ui.row.remove(), DONE_SHOWN_MS);
    }, (error) => {
      if (error.code === 'aborted') {
        ui.row.remove();
        this.room.announce(t('upload.cancelled', { name: file.name }));
        return;
      }
      const why = reason(error);
      this._state(ui, 'failed', t('upload.failed', { name: file.name }));
      ui.status.textContent = why;
      this.room.announce(`${t('upload.failed', { name: file.name })} ${why}`);
      const dismiss = h('button', { type: 'button', class: 'secondary upload-dismiss',
        'aria-label': t('upload.dismissLabel', { name: file.name }), text: t('upload.dismiss'),
        onclick: () => ui.row.remove() });
      const retry = error.retryable
        ? h('button', { type: 'button', class: 'upload-retry', text: t('upload.retry'),
          'aria-label': t('upload.retryLabel', { name: file.name }), onclick: () => this._send(channel, ui) })
        : null;
      ui.buttons.replaceChildren(...[retry, dismiss].filter(Boolean));
    });
  }

  _state(ui, state, text) {
    ui.row.dataset.state = state;
    ui.label.textContent = text;
  }
}
