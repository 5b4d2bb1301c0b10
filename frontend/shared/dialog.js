// A modal form in a native <dialog>: focus moves in, Escape cancels, focus
// returns to where it was. Resolves with the field values, or null.

import { h } from './dom.js';
import { t } from '../i18n.js';

let counter = 0;

/**
 * @param {{title: string, submit: string, fields: Array<{name, label, type?, value?, required?,
 *   options?: Array<[value, label]>, min?, max?, rows?}>, intro?: string, danger?: boolean}} spec
 */
export function formDialog(spec) {
  return new Promise((resolve) => {
    const opener = document.activeElement;
    counter += 1;
    const inputs = new Map();
    const rows = spec.fields.map((f) => {
      const id = `dlg-${counter}-${f.name}`;
      let input;
      if (f.type === 'select') {
        input = h('select', { id, name: f.name },
          f.options.map(([value, label]) => h('option', { value, text: label, selected: value === f.value })));
      } else if (f.type === 'textarea') {
        input = h('textarea', { id, name: f.name, rows: String(f.rows ?? 3), required: f.required });
        input.value = f.value ?? '';
      } else {
        input = h('input', { id, name: f.name, type: f.type ?? 'text', required: f.required,
          min: f.min, max: f.max, value: f.value ?? '' });
      }
      inputs.set(f.name, input);
      return h('p', { class: 'field' }, h('label', { for: id, text: f.label }), input);
    });
    const form = h('form', { class: 'dialog-form' },
      h('h2', { text: spec.title }),
      spec.intro ? h('p', { class: 'muted', text: spec.intro }) : null,
      rows,
      h('div', { class: 'dialog-buttons' },
        h('button', { type: 'button', class: 'secondary', text: t('dialog.cancel'),
          onclick: () => dialog.close() }),
        h('button', { type: 'submit', class: spec.danger ? 'danger' : null, text: spec.submit })));
    const dialog = h('dialog', { class: 'dialog', 'aria-label': spec.title }, form);
    let values = null;
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      values = Object.fromEntries([...inputs].map(([name, input]) => [name, input.value]));
      dialog.close();
    });
    dialog.addEventListener('close', () => {
      dialog.remove();
      opener?.focus?.();
      resolve(values);
    });
    document.body.append(dialog);
    dialog.showModal();
    (inputs.values().next().value ?? form.querySelector('button[type=submit]')).focus();
  });
}

/** A modal with arbitrary content and a Close button. */
export function infoDialog(title, content, { className = '' } = {}) {
  const opener = document.activeElement;
  const dialog = h('dialog', { class: `dialog ${className}`, 'aria-label': title },
    h('h2', { text: title }), content,
    h('div', { class: 'dialog-buttons' },
      h('button', { type: 'button', text: t('dialog.close'), onclick: () => dialog.close() })));
  dialog.addEventListener('close', () => {
    dialog.remove();
    opener?.focus?.();
  });
  document.body.append(dialog);
  dialog.showModal();
  return dialog;
}

export function dialogOpen() {
  return document.querySelector('dialog[open]') !== null;
}
