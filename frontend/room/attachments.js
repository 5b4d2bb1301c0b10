// Files in the conversation: a card per `file` event (name, size, type,
// who and when, the start of its SHA-256, Download, Delete), greyed out by
// its `file_deleted` event. The card stays: the transcript keeps the file's
// record and hash even after its bytes are gone.

import { h } from '../shared/dom.js';
import { formDialog } from '../shared/dialog.js';
import { errorTitle, fileType, formatSize, formatTime, roleLabel, t } from '../i18n.js';

const HASH_SHOWN = 12;

export class Attachments {
  /**
   * @param {{you(): {user, role}, files(): import('./files.js').RoomFiles,
   *          writable(): boolean, notice({code, message}): void, name(user): string}} room
   */
  constructor(room) {
    this.room = room;
    this.cards = new Map(); // file id -> {item, frame, status, actions}
  }

  /** A `file` event: its card, to be placed in its channel by seq. */
  card(frame) {
    const type = fileType(frame.content_type);
    const you = this.room.you();
    const own = frame.sender.user === you.user && frame.sender.role === you.role;
    const title = t('file.card', { name: frame.name });
    const status = h('p', { class: 'card-status', hidden: true });
    const actions = h('div', { class: 'card-actions' });
    const item = h('li', { class: `msg card attachment${own ? ' own' : ''}`, 'data-file': frame.file,
      'data-state': 'available', 'data-ts': String(new Date(frame.ts).getTime()) },
      h('article', { 'aria-label': title },
        h('p', { class: 'meta' },
          h('span', { class: 'who', 'data-user': frame.sender.user, text: this.room.name(frame.sender.user) }), ' ',
          h('span', { class: 'role', text: roleLabel(frame.sender.role) }),
          time(frame.ts)),
        h('div', { class: 'file-row' },
          h('span', { class: 'file-badge', 'data-type': type.id, 'aria-hidden': 'true', text: type.badge }),
          h('div', { class: 'file-text' },
            h('p', { class: 'file-name', text: frame.name }),
            h('p', { class: 'file-facts', text: t('file.facts', { type: type.label, size: formatSize(frame.size) }) }),
            h('p', { class: 'file-hash' }, `${t('file.sha256')} `,
              h('code', { title: frame.sha256, text: frame.sha256.slice(0, HASH_SHOWN) }),
              h('span', { class: 'sr-only', text: t('file.hashRest') })))),
        status, actions));
    const card = { item, frame, status, actions, own };
    this.cards.set(frame.file, card);
    this._actions(card);
    return item;
  }

  /** A `file_deleted` event: false if its card is not on this page. */
  deleted(frame) {
    const card = this.cards.get(frame.file);
    if (!card) return false;
    card.deleted = frame;
    card.item.dataset.state = 'deleted';
    card.status.hidden = false;
    card.status.textContent = t(frame.reason ? 'file.removedWhy' : 'file.removed', {
      who: this.room.name(frame.sender.user), when: formatTime(new Date(frame.ts)).short, reason: frame.reason ?? '',
    });
    this._actions(card);
    return true;
  }

  /** The room opened or closed for writing: show or hide the Delete buttons. */
  refresh() {
    for (const card of this.cards.values()) this._actions(card);
  }

  _actions(card) {
    card.actions.replaceChildren();
    if (card.deleted) return;
    const { name } = card.frame;
    const download = h('button', { type: 'button', class: 'secondary file-download',
      'aria-label': t('file.downloadLabel', { name }), text: t('file.download'),
      onclick: () => this._download(card, download) });
    card.actions.append(download);
    const you = this.room.you();
    if ((card.own || you.role === 'moderator') && this.room.writable()) {
      card.actions.append(h('button', { type: 'button', class: 'secondary file-delete',
        'aria-label': t('file.deleteLabel', { name }), text: t('file.delete'),
        onclick: () => this._delete(card) }));
    }
  }

  async _download(card, button) {
    button.disabled = true;
    button.textContent = t('file.downloading');
    try {
      await this.room.files().save(card.frame);
    } catch (exc) {
      this.room.notice({ code: exc.code, message: t('file.downloadFailed', { name: card.frame.name, message: exc.message }) });
    } finally {
      button.disabled = false;
      button.textContent = t('file.download');
    }
  }

  async _delete(card) {
    const values = await formDialog({
      title: t('file.deleteTitle', { name: card.frame.name }),
      intro: t('file.deleteIntro'),
      submit: t('file.deleteSubmit'),
      danger: true,
      fields: [{ name: 'reason', label: t('file.deleteReason'), type: 'textarea', rows: 2 }],
    });
    if (values === null) return;
    try {
      await this.room.files().remove(card.frame.file, values.reason.trim());
    } catch (exc) { // the card turns grey when the `file_deleted` event arrives, not before
      this.room.notice({ code: exc.code, message: exc.message || errorTitle(exc.code) });
    }
  }
}

function time(iso) {
  const date = new Date(iso);
  const { short, long } = formatTime(date);
  return h('time', { datetime: date.toISOString(), title: long, text: short });
}
