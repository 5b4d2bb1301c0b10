// The room's page structure, built inside any container: the party page
// fills <main> with it, the moderator console its room pane.

import { h } from '../shared/dom.js';
import { t } from '../i18n.js';

export function buildShell(container, { headingLevel = 1 } = {}) {
  const el = {
    title: h(`h${headingLevel}`, { class: 'room-title', text: t('app.title') }),
    meta: h('p', { class: 'muted room-meta' }),
    you: h('p', { class: 'muted room-you' }),
    banner: h('div', { class: 'banner', role: 'status', hidden: true }),
    notices: h('ul', { class: 'notices', 'aria-live': 'polite', 'aria-label': t('notices.label') }),
    outcome: h('div', { class: 'outcome', role: 'status', hidden: true }),
    caucus: h('p', { class: 'caucus-indicator', role: 'status', hidden: true }),
    floor: h('p', { class: 'floor-indicator', role: 'status', hidden: true }),
    csat: h('section', { class: 'csat', hidden: true, 'aria-label': t('csat.title') }),
    arbitration: h('section', { class: 'arbitration', hidden: true,
      'aria-label': t('arbitration.label') }),
    deadlines: h('section', { class: 'deadlines', hidden: true, 'aria-label': t('deadline.title') }),
    evidence: h('section', { class: 'evidence-open', hidden: true, 'aria-label': t('evidence.openLabel') }),
    toolbar: h('div', { class: 'toolbar', hidden: true }),
    room: h('div', { class: 'room', hidden: true }),
    // a tab stop: on a phone or a short embed the list scrolls sideways (style.css)
    people: h('ul', { class: 'participants', tabindex: '0', 'aria-label': t('people.title') }),
    typing: h('p', { class: 'typing muted', 'aria-live': 'off' }),
    tabs: h('div', { class: 'tabs', role: 'tablist', 'aria-label': t('channels.label') }),
    panels: h('div', { class: 'panels' }),
    announcer: h('div', { class: 'sr-only', 'aria-live': 'polite', 'aria-atomic': 'true' }),
  };
  const peopleTitle = h('h2', { class: 'people-title', text: t('people.title') });
  el.room.append(
    h('aside', { class: 'people' }, peopleTitle, el.people, el.typing),
    h('section', { class: 'conversation' }, el.tabs, el.panels),
  );
  container.replaceChildren(
    h('header', { class: 'topbar' }, h('div', { class: 'topbar-text' }, el.title, el.meta, el.you)),
    el.banner, el.notices, el.outcome, el.caucus, el.floor, el.deadlines, el.csat, el.arbitration,
    el.evidence, el.toolbar, el.room,
    el.announcer,
  );
  return el;
}
