// Editing and retracting one's own messages (docs/protocol.md, "edit and retract").
// Every stored text message of one's own, not retracted nor removed, gets Edit and
// Retract while one may write: shown on hover and on keyboard focus (always in the tab
// order), always shown on a touch screen. Edit turns the bubble into a text box (Enter
// saves, Shift+Enter adds a line, Esc cancels); Retract asks first. Both go out as
// `edit` / `retract` frames through the outbox; the amendment comes back as an event and
// `view.js` shows it (edited, with the time; or "Message retracted"). A refusal shows
// under the message, under its own title.

import { h } from '../shared/dom.js';
import { formDialog } from '../shared/dialog.js';
import { errorTitle, has, t } from '../i18n.js';

const GONE = ['retracted', 'struck', 'redacted'];

export class Edits {
  /**
   * @param {{act(type, fields, channel), writable(): boolean, canWrite(channel): boolean}} room
   */
  constructor(room) {
    this.room = room;
    this.items = new Set(); // the <li> of every own stored message offered the actions
  }

  /** Offer the actions on `item`, our own stored message `{channel, seq}`. */
  offer(item, { channel, seq }) {
    if (!Number.isInteger(seq) || item.querySelector('.msg-actions')) return;
    item.dataset.channel = channel;
    const edit = h('button', { type: 'button', class: 'secondary edit', text: t('edits.edit'),
      'aria-label': t('edits.editLabel', { seq }), onclick: () => this._edit(item) });
    const retract = h('button', { type: 'button', class: 'secondary retract', text: t('edits.retract'),
      'aria-label': t('edits.retractLabel', { seq }), onclick: () => this._retract(item) });
    item.append(h('div', { class: 'msg-actions' }, edit, retract));
    this.items.add(item);
    this._show(item);
  }

  /** An amendment of `item` came back (ours or from our other device). */
  amended(item) {
    const hadFocus = item.contains(document.activeElement);
    item.querySelector('.edit-form')?.remove();
    const body = item.querySelector('.body');
    body.hidden = false;
    item.querySelector('.amend-state')?.remove();
    item.querySelector('.amend-error')?.remove();
    this._show(item);
    const active = document.activeElement;
    if (hadFocus && (!item.contains(active) || active.closest('[hidden]'))) {
      // the control that had the focus went away (retracted, removed): keep it on the message
      body.tabIndex = -1;
      body.focus();
    }
  }

  /** The room (or the floor) changed: show the actions only where they can work. */
  refresh() {
    for (const item of this.items) {
      if (!item.isConnected) this.items.delete(item);
      else this._show(item);
    }
  }

  /** Our edit or retract was refused: shown under the message. True if it was ours. */
  failed(entry) {
    if (entry.type !== 'edit' && entry.type !== 'retract') return false;
    const item = [...this.items].find((node) => node.isConnected
      && node.dataset.seq === String(entry.fields.target) && node.dataset.channel === entry.channel);
    if (!item) return false;
    item.querySelector('.amend-state')?.remove();
    item.querySelector('.amend-error')?.remove();
    const key = `edits.refused.${entry.error.code}`;
    const title = has(key) ? t(key) : errorTitle(entry.error.code);
    item.append(h('p', { class: 'amend-error', role: 'alert' },
      h('strong', { text: title }), entry.error.message ? ` ${entry.error.message}` : ''));
    return true;
  }

  _show(item) {
    const box = item.querySelector('.msg-actions');
    if (!box) return;
    const gone = GONE.some((c) => item.classList.contains(c));
    box.hidden = gone || !this.room.canWrite(item.dataset.channel);
  }

  _edit(item) {
    if (item.querySelector('.edit-form')) {
      item.querySelector('.edit-form textarea').focus();
      return;
    }
    const body = item.querySelector('.body');
    const before = body.textContent;
    const id = `edit-${item.dataset.channel}-${item.dataset.seq}`.replace(/[^\w-]/g, '-');
    const input = h('textarea', { id, rows: '2', class: 'edit-input' });
    input.value = before;
    const close = () => {
      form.remove();
      body.hidden = false;
      this._show(item);
      item.querySelector('.msg-actions .edit')?.focus();
    };
    const save = () => {
      const text = input.value;
      if (text.trim() === '' || text === before) {
        close();
        return;
      }
      this.room.act('edit', { channel: item.dataset.channel, target: Number(item.dataset.seq), body: text },
        item.dataset.channel);
      form.remove();
      body.hidden = false;
      this._show(item);
      item.querySelector('.msg-actions .edit')?.focus();
      this._pending(item, t('edits.saving'));
    };
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        save();
      } else if (e.key === 'Escape') {
        e.preventDefault();
        e.stopPropagation(); // Esc here cancels the edit, nothing else
        close();
      }
    });
    const form = h('form', { class: 'edit-form', onsubmit: (e) => { e.preventDefault(); save(); } },
      h('label', { for: id, class: 'sr-only', text: t('edits.label') }),
      input,
      h('div', { class: 'edit-buttons' },
        h('button', { type: 'submit', text: t('edits.save') }),
        h('button', { type: 'button', class: 'secondary', text: t('edits.cancel'), onclick: close }),
        h('span', { class: 'edit-keys', text: t('edits.keys') })));
    item.querySelector('.amend-error')?.remove();
    body.hidden = true;
    item.querySelector('.msg-actions').hidden = true; // Save and Cancel stand for them meanwhile
    body.after(form);
    input.focus();
    input.setSelectionRange(input.value.length, input.value.length);
  }

  async _retract(item) {
    const values = await formDialog({
      title: t('edits.retractTitle'),
      intro: t('edits.retractIntro'),
      submit: t('edits.retractSubmit'),
      danger: true,
      fields: [],
    });
    if (values === null) return;
    item.querySelector('.amend-error')?.remove();
    this.room.act('retract', { channel: item.dataset.channel, target: Number(item.dataset.seq) },
      item.dataset.channel);
    this._pending(item, t('edits.retracting'));
  }

  _pending(item, text) {
    item.querySelector('.amend-state')?.remove();
    item.querySelector('.meta').append(h('span', { class: 'amend-state', text }));
  }
}
