// Who will read what you write, before you write it. Each channel has its own
// look and says its audience in words: the joint conversation is neutral and
// addressed to everyone; a caucus ("private") tab carries a lock and names the
// other side of the private conversation; internal notes are tinted and
// labelled "Only moderators and auditors" above the conversation and on the
// composer. The composer's placeholder and send button name the audience too.
// Hooked from view.js: `pane(pane)` when a tab is built, `refresh(panes)`
// when the room's people (and so the names) change.

import { h } from '../shared/dom.js';
import { t } from '../i18n.js';
import { PARTIES } from './roles.js';

const SVG = 'http://www.w3.org/2000/svg';

/** A small padlock, drawn with SVG attributes only (no style: the page's CSP allows none). */
export function lockIcon() {
  const svg = document.createElementNS(SVG, 'svg');
  for (const [k, v] of Object.entries({ viewBox: '0 0 16 16', width: '14', height: '14',
    'aria-hidden': 'true', focusable: 'false', class: 'lock-icon' })) svg.setAttribute(k, v);
  const shackle = document.createElementNS(SVG, 'path');
  for (const [k, v] of Object.entries({ d: 'M5 7V5a3 3 0 0 1 6 0v2', fill: 'none',
    stroke: 'currentColor', 'stroke-width': '1.8' })) shackle.setAttribute(k, v);
  const body = document.createElementNS(SVG, 'rect');
  for (const [k, v] of Object.entries({ x: '3', y: '7', width: '10', height: '8', rx: '1.5',
    fill: 'currentColor' })) body.setAttribute(k, v);
  svg.append(shackle, body);
  return svg;
}

/** Which kind of audience a channel has: joint, caucus, notes (or other). */
export function audienceKind(channel) {
  if (channel === 'joint' || channel === 'notes') return channel;
  return channel.startsWith('caucus:') ? 'caucus' : 'other';
}

export class Audience {
  /**
   * @param {{you(): {user, role}, people(): Iterable<{user, role}>, name(user): string}} room
   */
  constructor(room) {
    this.room = room;
  }

  /** The name(s) on a party's side, or null when nobody is known. */
  _side(party) {
    const names = [...new Set([...this.room.people()].filter((p) => p.role === party)
      .map((p) => this.room.name(p.user)))];
    return names.length ? names.join(t('list.and')) : null;
  }

  /** {tab, label, placeholder, send} of a channel for the reader, or null for none. */
  texts(channel) {
    const kind = audienceKind(channel);
    const { role } = this.room.you();
    if (kind === 'joint') {
      return { label: t('audience.joint.label'), placeholder: t('audience.joint.placeholder'),
        send: t('audience.joint.send') };
    }
    if (kind === 'notes') {
      return { label: t('audience.notes.label'), detail: t('audience.notes.detail'), placeholder: t('audience.notes.placeholder'),
        send: t('audience.notes.send') };
    }
    if (kind === 'caucus') {
      const party = channel.slice('caucus:'.length);
      if (role === party || !PARTIES.includes(party)) {
        return { tab: t('channel.caucus.own'), label: t('audience.caucus.own.label'),
          detail: t('audience.caucus.own.detail'),
          placeholder: t('audience.caucus.own.placeholder'), send: t('audience.caucus.send') };
      }
      const name = this._side(party);
      const params = { name, party: t(`audience.party.${party}`) };
      const key = name === null ? 'audience.caucus.unnamed' : 'audience.caucus';
      return { tab: t(`${key}.tab`, params), label: t(`${key}.label`, params),
        placeholder: t(`${key}.placeholder`, params), send: t('audience.caucus.send') };
    }
    return null;
  }

  /** Give a freshly built pane (tab, panel, composer) its channel's look and words. */
  pane(pane) {
    const kind = audienceKind(pane.channel);
    pane.tab.classList.add(`audience-${kind}`);
    pane.panel.classList.add(`audience-${kind}`);
    pane.tab.dataset.audience = kind;
    pane.panel.dataset.audience = kind;
    if (kind === 'caucus') pane.tab.prepend(lockIcon());
    const strip = h('div', { class: `audience-strip audience-${kind}` },
      kind === 'caucus' || kind === 'notes' ? lockIcon() : null,
      h('strong', { class: 'audience-label' }));
    // the strip says what the channel's hint said, and more plainly
    pane.panel.querySelector(':scope > .hint')?.remove();
    strip.append(h('span', { class: 'audience-detail' }));
    pane.panel.prepend(strip);
    pane.audienceStrip = strip;
    if (pane.form) {
      pane.form.classList.add('has-audience');
      const to = h('p', { class: `audience-to audience-${kind}` },
        kind === 'caucus' || kind === 'notes' ? lockIcon() : null, h('span', { class: 'audience-label' }));
      pane.form.prepend(to);
      pane.audienceTo = to;
    }
    this._words(pane);
  }

  /** The names in the words may have changed (a welcome, a member joining a side). */
  refresh(panes) {
    for (const pane of panes.values()) if (pane.audienceStrip) this._words(pane);
  }

  _words(pane) {
    const texts = this.texts(pane.channel);
    if (!texts) {
      pane.audienceStrip.hidden = true;
      if (pane.audienceTo) pane.audienceTo.hidden = true;
      return;
    }
    if (texts.tab) {
      const label = pane.tab.querySelector(':scope > span:not(.badge)');
      if (label) label.textContent = texts.tab;
    }
    pane.audienceStrip.querySelector('.audience-label').textContent = texts.label;
    pane.audienceStrip.querySelector('.audience-detail').textContent = texts.detail ?? '';
    if (!pane.form) return;
    pane.audienceTo.querySelector('.audience-label').textContent = texts.label;
    pane.form.querySelector('textarea')?.setAttribute('placeholder', texts.placeholder);
    const send = pane.form.querySelector('button[type="submit"]');
    if (send) send.textContent = texts.send;
  }
}
