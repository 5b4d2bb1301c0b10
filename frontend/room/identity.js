// Who a person is, at a glance: their display name (welcome's `room.names`, the
// user id when they have none), an avatar with their initials, and a colour per
// role. The role is always also written out beside the name (never colour alone).
//
// `decorateIdentities` watches a subtree: every name shown as `[data-user]` with
// the class `who` or `name` gets its avatar just before it, whichever module drew
// it (messages, participants, files, proposals, evidence requests).

import { h } from '../shared/dom.js';

const ROLE_COLOURS = new Set(['client', 'freelancer', 'moderator', 'auditor', 'arbitrator', 'observer']);

/** "Alice Doe" -> "AD", "bruno" -> "BR", "u-381" -> "U3". */
export function initials(name) {
  const words = String(name).trim().split(/[\s._-]+/u).filter(Boolean);
  if (words.length === 0) return '?';
  const letters = words.length > 1
    ? [words[0], words[words.length - 1]].map((w) => [...w][0])
    : [...words[0]].slice(0, 2);
  return letters.join('').toUpperCase();
}

/** The avatar of a person: initials on their role's colour (decorative: the name follows). */
export function avatar(name, role) {
  const tone = ROLE_COLOURS.has(role) ? role : 'other';
  return h('span', { class: `avatar role-${tone}`, 'aria-hidden': 'true', 'data-role': role ?? '',
    text: initials(name) });
}

/**
 * Give every name in `root` its avatar, now and as names are added.
 * @param {HTMLElement} root
 * @param {(user: string) => string|null} roleOf  the role of a user in the room, if known
 */
export function decorateIdentities(root, roleOf) {
  const decorate = (node) => {
    const role = node.dataset.role || roleOf(node.dataset.user) || '';
    const before = node.previousElementSibling;
    if (before?.classList.contains('avatar')) {
      if (before.textContent === initials(node.textContent) && before.dataset.role === role) return;
      before.remove();
    }
    node.before(avatar(node.textContent, role));
  };
  const scan = (subtree) => {
    if (!(subtree instanceof Element)) return;
    if (subtree.matches('.who[data-user], .name[data-user]')) decorate(subtree);
    for (const node of subtree.querySelectorAll('.who[data-user], .name[data-user]')) decorate(node);
  };
  scan(root);
  const observer = new MutationObserver((changes) => {
    for (const change of changes) for (const node of change.addedNodes) scan(node);
  });
  observer.observe(root, { childList: true, subtree: true });
  return observer;
}

/** The names of the people on one side of the room (its participants with that role). */
export function sideNames(participants, role, nameOf) {
  return [...participants].filter((p) => p.role === role).map((p) => nameOf(p.user));
}
