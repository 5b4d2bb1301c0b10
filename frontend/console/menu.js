// A menu button (the WAI-ARIA menu button pattern): a button with
// aria-haspopup="menu" and aria-expanded that opens a list of role="menuitem"
// buttons. Enter, Space or ArrowDown open it on the first item, ArrowUp on the
// last; in the menu the arrows move (wrapping), Home/End jump, a letter goes to
// the next item starting with it, Escape closes it and gives the focus back to
// the button, Tab closes it. Choosing an item closes the menu first (so a
// dialog the item opens returns the focus to the button), then runs it.
// Disabled items are skipped.

import { h } from '../shared/dom.js';

let counter = 0;

export class MenuButton {
  /**
   * @param {{label: string, menuLabel: string, className?: string}} spec
   * @param {HTMLButtonElement[]} items buttons (a `null` draws a separator)
   */
  constructor({ label, menuLabel, className = '' }, items) {
    counter += 1;
    const id = `menu-${counter}`;
    this.items = items.filter(Boolean);
    for (const item of this.items) {
      item.setAttribute('role', 'menuitem');
      item.setAttribute('tabindex', '-1');
      // a capturing listener runs before the item's own action: the menu is closed by then
      item.addEventListener('click', () => this.close(true), { capture: true });
    }
    this.button = h('button', { type: 'button', class: 'menu-button', id: `${id}-button`,
      'aria-haspopup': 'menu', 'aria-expanded': 'false', 'aria-controls': id,
      onclick: () => (this.isOpen ? this.close(true) : this.open(0)),
      onkeydown: (e) => this._buttonKey(e) },
    h('span', { text: label }), h('span', { class: 'menu-caret', 'aria-hidden': 'true', text: '▾' }));
    this.menu = h('ul', { class: 'menu', id, role: 'menu', 'aria-label': menuLabel,
      tabindex: '-1', hidden: true, onkeydown: (e) => this._menuKey(e) },
    items.map((item) => (item ? h('li', { role: 'none' }, item)
      : h('li', { role: 'separator', class: 'menu-separator' }))));
    this.root = h('div', { class: `menu-wrap ${className}`.trim() }, this.button, this.menu);
    this._outside = (e) => { if (!this.root.contains(e.target)) this.close(false); };
    this.root.addEventListener('focusout', (e) => {
      if (this.isOpen && e.relatedTarget && !this.root.contains(e.relatedTarget)) this.close(false);
    });
  }

  get isOpen() {
    return !this.menu.hidden;
  }

  _enabled() {
    return this.items.filter((item) => !item.disabled);
  }

  /** Open and focus the item at `index` among the enabled ones (-1: the last). */
  open(index = 0) {
    this.menu.hidden = false;
    this.button.setAttribute('aria-expanded', 'true');
    document.addEventListener('pointerdown', this._outside, true);
    const enabled = this._enabled();
    if (!enabled.length) {
      this.menu.focus();
      return;
    }
    enabled[index < 0 ? enabled.length - 1 : Math.min(index, enabled.length - 1)].focus();
  }

  /** Close; `refocus`: give the keyboard focus back to the button. */
  close(refocus) {
    if (!this.isOpen) return;
    this.menu.hidden = true;
    this.button.setAttribute('aria-expanded', 'false');
    document.removeEventListener('pointerdown', this._outside, true);
    if (refocus) this.button.focus();
  }

  _buttonKey(e) {
    // Enter and Space click the button (which opens the menu on its first item)
    if (e.key === 'ArrowDown') this.open(0);
    else if (e.key === 'ArrowUp') this.open(-1);
    else return;
    e.preventDefault();
    e.stopPropagation(); // not a console shortcut
  }

  _menuKey(e) {
    const enabled = this._enabled();
    const at = enabled.indexOf(document.activeElement);
    const focus = (i) => enabled[(i + enabled.length) % enabled.length]?.focus();
    if (e.key === 'ArrowDown') focus(at + 1);
    else if (e.key === 'ArrowUp') focus(at === -1 ? -1 : at - 1);
    else if (e.key === 'Home') focus(0);
    else if (e.key === 'End') focus(-1);
    else if (e.key === 'Escape') this.close(true);
    else if (e.key === 'Tab') {
      this.close(false);
      return; // the focus moves on as usual
    } else if (e.key.length === 1 && /\S/.test(e.key) && !e.ctrlKey && !e.metaKey && !e.altKey) {
      const key = e.key.toLowerCase();
      const starts = (item) => item.textContent.trim().toLowerCase().startsWith(key);
      const next = [...enabled.slice(at + 1), ...enabled.slice(0, at + 1)].find(starts);
      next?.focus();
    } else return;
    e.preventDefault();
    e.stopPropagation(); // a letter in the menu is not a console shortcut
  }
}
