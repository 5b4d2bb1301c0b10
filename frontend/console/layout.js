// The console's layout (issue 18): on a phone (at most 600 px wide) the queue
// is a drawer behind a "Rooms" button in the header, closed while a room is
// open so the conversation and its composer stay in view; the selected tab
// of a room is always scrolled into view in its strip; the room's title says
// the ticket once (the line under it keeps the state).

import { h } from '../shared/dom.js';
import { t } from '../i18n.js';
import { RoomView } from '../room/view.js';

export const PHONE_QUERY = '(max-width: 600px)';

/** The room view of the console: the ticket is the title, so the line under it omits it. */
export class ConsoleRoomView extends RoomView {
  _renderMeta() {
    super._renderMeta();
    if (!this.titleFromTicket || !this.room) return;
    const title = `${t('room.ticket', this.room.ticket)} · `;
    const meta = this.el.meta;
    if (meta.textContent.startsWith(title)) meta.textContent = meta.textContent.slice(title.length);
  }
}

/** Scroll `tab` into view inside its own strip only (the page itself never jumps). */
export function revealTab(tab) {
  const strip = tab.closest('[role="tablist"]');
  if (!strip || strip.scrollWidth <= strip.clientWidth) return;
  const box = strip.getBoundingClientRect();
  const at = tab.getBoundingClientRect();
  const margin = 16;
  if (at.left < box.left) strip.scrollLeft -= box.left - at.left + margin;
  else if (at.right > box.right) strip.scrollLeft += at.right - box.right + margin;
}

export class Layout {
  /**
   * @param {{header: HTMLElement, console: HTMLElement, queue: HTMLElement, pane: HTMLElement}} el
   */
  constructor(el) {
    this.el = el;
    this.phone = window.matchMedia(PHONE_QUERY);
    this.count = h('span', { class: 'rooms-count' });
    this.toggle = h('button', { type: 'button', id: 'rooms-toggle', class: 'secondary rooms-toggle',
      'aria-controls': el.queue.id, 'aria-expanded': 'true', onclick: () => this.setOpen(!this.open) },
    h('span', { text: t('layout.rooms') }), ' ', this.count);
    el.header.querySelector('h1').after(this.toggle);
    this.open = true; // the queue; on a phone it closes once a room is shown
    this.setOpen(true);
    // the selected tab, wherever it is selected from (a click, 1-4, c/f, an evidence link)
    new MutationObserver((changes) => {
      for (const change of changes) {
        const tab = change.target;
        if (tab.getAttribute?.('role') === 'tab' && tab.getAttribute('aria-selected') === 'true') {
          revealTab(tab);
        }
      }
    }).observe(el.pane, { subtree: true, attributes: true, attributeFilter: ['aria-selected'] });
    window.addEventListener('resize', () => this.revealSelected());
  }

  revealSelected() {
    const tab = this.el.pane.querySelector('[role="tab"][aria-selected="true"]');
    if (tab) revealTab(tab);
  }

  /** Open or close the queue drawer (it only closes on a phone: the CSS decides). */
  setOpen(open) {
    const wasInQueue = this.el.queue.contains(document.activeElement);
    this.open = open;
    this.toggle.setAttribute('aria-expanded', String(open));
    this.el.console.classList.toggle('queue-closed', !open);
    if (!this.phone.matches) return;
    if (open) this.el.queue.querySelector('button, summary')?.focus();
    else if (wasInQueue) this.el.pane.focus(); // its button is gone from view: follow the room
    this.revealSelected();
  }

  /** A room (or the review page) is shown: on a phone, the drawer gives way to it. */
  roomShown() {
    this.setOpen(false);
    requestAnimationFrame(() => this.revealSelected());
  }

  /** The queue's counts, on the Rooms button. */
  counted(queue) {
    this.count.textContent = queue.loaded ? `(${queue.waiting.length + queue.mine.length})` : '';
  }

  /** Keyboard moves through the queue (j / k) open the drawer first. */
  showQueue() {
    if (this.phone.matches && !this.open) this.setOpen(true);
  }
}
