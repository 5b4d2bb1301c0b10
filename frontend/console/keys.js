// Keyboard shortcuts of the console. Single keys act when the focus is not
// in a text field; Escape in a composer hands the keys back. `?` lists them.

import { h, typingInField } from '../shared/dom.js';
import { dialogOpen, infoDialog } from '../shared/dialog.js';
import { t } from '../i18n.js';

export const SHORTCUTS = [
  ['?', 'keys.help'],
  ['j / k', 'keys.queue'],
  ['g', 'keys.refresh'],
  ['1 – 4', 'keys.tabs'],
  ['/', 'keys.compose'],
  ['Esc', 'keys.escape'],
  ['c / f', 'keys.caucus'],
  ['m', 'keys.macros'],
  ['p', 'keys.propose'],
  ['u', 'keys.mute'],
  ['a', 'keys.pause'],
  ['r', 'keys.resolve'],
  ['e', 'keys.escalate'],
  ['t', 'keys.transfer'],
];

export function showHelp() {
  const rows = SHORTCUTS.map(([key, id]) => h('tr', {},
    h('th', { scope: 'row' }, h('kbd', { text: key })), h('td', { text: t(id) })));
  infoDialog(t('keys.title'), h('table', { class: 'keys' },
    h('thead', {}, h('tr', {}, h('th', { scope: 'col', text: t('keys.key') }),
      h('th', { scope: 'col', text: t('keys.action') }))),
    h('tbody', {}, rows)));
}

/** @param {{queue, view(): RoomView|null, toolbar(): Toolbar|null}} console */
export function installShortcuts(console) {
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && e.target?.tagName === 'TEXTAREA' && !dialogOpen()) {
      e.target.blur();
      console.view()?.panes.get(console.view().active)?.tab.focus();
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey || typingInField(e.target) || dialogOpen()) return;
    const view = console.view();
    let handled = true;
    if (e.key === '?') showHelp();
    else if (e.key === 'j') console.queue.move(1);
    else if (e.key === 'k') console.queue.move(-1);
    else if (e.key === 'g') console.queue.refresh();
    else if (e.key === '/' && view) view.focusComposer();
    else if (/^[1-4]$/.test(e.key) && view) view.activateIndex(Number(e.key) - 1);
    else handled = console.toolbar()?.key(e.key) ?? false;
    if (handled) e.preventDefault();
  });
}
