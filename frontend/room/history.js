// Long rooms open on their newest page and load earlier messages on demand.
//
// The first hello asks the server for only the newest PAGE messages of each channel
// (`recent`; every event still comes, so the room's state is whole: docs/protocol.md,
// `hello`). Above the oldest message shown, a conversation holding more has a
// "Load earlier messages" button and a sentinel watched by an IntersectionObserver:
// scrolling to the top, or the button, asks for the page before it with a `history`
// frame. The page's messages are put in place (events of a page were all replayed
// already), the scroll position is kept, and once nothing is left "Beginning of the
// conversation" shows. An edit or retract that came for a message not yet shown is
// kept and applied when its message comes.

import { h } from '../shared/dom.js';
import { errorTitle, t } from '../i18n.js';

export const PAGE = 50;
const RETRY_MS = 1000;
const NEAR_TOP_PX = 64; // when a rate_limited refusal does not say

export class EarlierPages {
  constructor(view, client) {
    this.view = view;
    this.client = client;
    this.channels = new Map(); // channel -> {before, done, loading, top, button, status, observer}
    this.amendments = new Map(); // "channel:seq" -> edit/retract events of a message not shown
    client.on('welcome', () => this._welcome());
    client.on('event', (frame) => this._remember(frame));
  }

  _welcome() {
    for (const [channel, pane] of this.view.panes) {
      if (this.channels.has(channel)) continue;
      const base = this.client.skipped(channel);
      this.channels.set(channel, this._top(channel, pane, base));
    }
  }

  /** The top of a conversation: the button and sentinel, or the beginning marker. */
  _top(channel, pane, base) {
    const state = { before: base + 1, done: base === 0, loading: false };
    state.button = h('button', { type: 'button', class: 'secondary load-earlier', text: t('history.load'),
      onclick: () => this.load(channel) });
    state.status = h('p', { class: 'history-status', role: 'status' });
    // data-seq 0: the view puts every message below it (its _place orders by seq)
    state.top = h('li', { class: 'history-top', 'data-seq': '0', hidden: state.done },
      state.button, state.status);
    pane.list.prepend(state.top);
    if (!state.done && 'IntersectionObserver' in window) {
      state.observer = new IntersectionObserver((entries) => {
        // Entries tell how it was when observed (an empty list, before the replay): look
        // again now. Only a list the reader scrolled up to its top loads by itself; one
        // that does not overflow has the button.
        const seen = entries.some((e) => e.isIntersecting);
        if (seen && this._byItself(state, pane.list)) this.load(channel);
      }, { root: pane.list, rootMargin: `${NEAR_TOP_PX}px 0px 0px 0px` });
      state.observer.observe(state.top);
    }
    return state;
  }

  /** Read the page before the oldest message shown in `channel`. */
  async load(channel) {
    const state = this.channels.get(channel);
    if (!state || state.loading || state.done) return;
    state.loading = true;
    // said on the button itself: a line more above the messages would move them
    state.button.setAttribute('aria-disabled', 'true'); // `disabled` would drop the focus
    state.button.textContent = t('history.loading');
    state.status.textContent = '';
    let page;
    try {
      page = await this.client.page(channel, state.before, PAGE);
    } catch (error) {
      state.loading = false;
      state.button.removeAttribute('aria-disabled');
      state.button.textContent = t('history.load');
      if (error.code === 'rate_limited') {
        setTimeout(() => this.load(channel), error.retry_after_ms ?? RETRY_MS);
        return;
      }
      state.status.textContent = t('history.failed', { reason: error.message || errorTitle(error.code) });
      return;
    }
    const { list } = this.view.panes.get(channel);
    const fromBottom = list.scrollHeight - list.scrollTop; // what the reader sees stays put
    this._show(channel, page.messages ?? []);
    if (page.messages?.length) state.before = page.messages[0].seq;
    state.loading = false;
    state.done = !page.more || !page.messages?.length;
    state.button.textContent = t('history.load');
    state.button.removeAttribute('aria-disabled');
    if (state.done) this._finished(state); // the button gives way to a line: heights change
    else this.view.announcer.say(t('history.loaded')); // the beginning says itself (a status)
    await null; // after the avatars too (identity.js adds them from a MutationObserver)
    list.scrollTop = list.scrollHeight - fromBottom; // after every change above the reader
    // a page of mostly events moved nothing: the reader is still at the top
    if (!state.done && this._byItself(state, list)) this.load(channel);
  }

  /** Whether the next page loads without a press: the reader is at the top of a list that
   * overflows, and has not come to the button from the keyboard. Tabbing to the button
   * scrolls it into view, and a keyboard reader who chose it gets one page a press, not
   * a page more on the way. A click focuses the button too, but not visibly: whoever
   * clicked and scrolls up again still gets the next page by itself. */
  _byItself(state, list) {
    if (state.button.matches(':focus-visible')) return false;
    return list.scrollHeight > list.clientHeight && list.scrollTop < NEAR_TOP_PX;
  }

  _show(channel, frames) {
    const { list } = this.view.panes.get(channel);
    for (const frame of frames) {
      if (frame.type !== 'message' || list.querySelector(`li[data-seq="${frame.seq}"]`)) continue;
      this.view.message(frame, { earlier: true });
      const key = `${channel}:${frame.seq}`;
      for (const amendment of this.amendments.get(key) ?? []) this.view.event(amendment);
      this.amendments.delete(key);
    }
  }

  _finished(state) {
    state.observer?.disconnect();
    const hadFocus = document.activeElement === state.button;
    state.button.remove();
    state.top.classList.add('history-start');
    state.status.textContent = t('history.start');
    if (hadFocus) {
      state.status.tabIndex = -1; // focus stays near, not lost to the page's top
      state.status.focus();
    }
  }

  /** An amendment of a message this page does not show yet: kept until it comes. */
  _remember(frame) {
    if (frame.kind !== 'edit' && frame.kind !== 'retract') return;
    const pane = this.view.panes.get(frame.channel);
    if (!pane || pane.list.querySelector(`li[data-seq="${frame.target}"]`)) return;
    const key = `${frame.channel}:${frame.target}`;
    if (!this.amendments.has(key)) this.amendments.set(key, []);
    this.amendments.get(key).push(frame);
  }
}
