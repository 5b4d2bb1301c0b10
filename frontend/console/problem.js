// Honest error states for the console (issue 18): a failure is never shown as
// an empty queue. A refused staff token (401, 403) says the link is invalid or
// has expired and what to do; a network or server failure says so, with Retry.

import { h } from '../shared/dom.js';
import { t } from '../i18n.js';

/** What kind of failure an ApiError (shared/api.js) is: 'token', 'network' or 'server'. */
export function problemKind(error) {
  const status = error?.status ?? 0;
  if (status === 401 || status === 403) return 'token';
  if (status === 0) return 'network';
  return 'server';
}

/**
 * The problem as a box: a title, what to do, and Retry unless retrying cannot help
 * (a refused token stays refused).
 * @param {{status?: number, message?: string}} error
 * @param {{retry?: () => void, stale?: boolean}} options stale: older data is still shown
 */
export function problemBox(error, { retry = null, stale = false } = {}) {
  const kind = problemKind(error);
  // a refused token is announced by the page's banner (showTokenBanner): not twice
  const detail = error?.message ? t('problem.detail', { message: error.message }) : null;
  return h('div', { class: `problem problem-${kind}`, 'data-problem': kind,
    role: kind === 'token' ? null : 'alert' },
    h('p', { class: 'problem-title' }, h('strong', { text: t(`problem.${kind}.title`) })),
    h('p', { class: 'problem-body', text: t(`problem.${kind}.body`) }),
    stale ? h('p', { class: 'problem-stale', text: t('problem.stale') }) : null,
    detail ? h('p', { class: 'problem-detail muted', text: detail }) : null,
    kind !== 'token' && retry
      ? h('button', { type: 'button', class: 'problem-retry', text: t('problem.retry'), onclick: retry })
      : null);
}

/** Show a refused token in the page's banner: nothing on the page works until a new link. */
export function showTokenBanner(banner) {
  if (banner.classList.contains('token-refused')) return; // said already
  banner.replaceChildren(h('strong', { text: t('problem.token.title') }), ' ',
    t('problem.token.body'));
  banner.className = 'banner banner-error token-refused';
  banner.hidden = false;
}
