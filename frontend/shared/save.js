// Hand bytes fetched by script to the browser as a download: an object URL
// on a temporary <a download>, revoked once the browser has taken it.

import { h } from './dom.js';

const REVOKE_AFTER_MS = 10_000;

export function saveBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), REVOKE_AFTER_MS);
}
