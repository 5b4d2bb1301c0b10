// The party page (and any join link): read the link, show the room.
// The token lives in the URL fragment, which browsers never send to the
// server; it only ever leaves the page inside the `hello` frame.

import { fragmentParams } from './shared/dom.js';
import { applyStaticStrings, t, usePersonLocale } from './i18n.js';
import { addLanguageMenu } from './shared/language.js';
import { RoomView } from './room/view.js';
import { connectRoom } from './room/connect.js';
import { listenToHost } from './room/host.js';
import { installAlerts } from './room/alerts.js';
import { installWaiting } from './room/waiting.js';

// A notice mail's single-use link (`#signin=CODE`): exchanged once for a room token,
// which then replaces the code in the address bar (a reload keeps working; the code
// is spent). Null when the code was used or has expired.
async function signIn(code) {
  const answer = await fetch('/api/sign-in', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ code }),
  });
  if (!answer.ok) return null;
  const { room, token } = await answer.json();
  history.replaceState(null, '', `#room=${encodeURIComponent(room)}&token=${encodeURIComponent(token)}`);
  return { room, token };
}

async function main() {
  // A different join link pasted into the address bar means a different room.
  window.addEventListener('hashchange', () => location.reload());
  applyStaticStrings(document);
  document.title = t('app.title');

  let { room, token, embed, host, signin } = fragmentParams(location.hash);
  if (embed === '1') document.documentElement.classList.add('embedded');
  const view = new RoomView(document.getElementById('app'), {});
  addLanguageMenu(document.querySelector('#app .topbar'));
  if (signin && !token) {
    const signed = await signIn(signin);
    if (!signed) {
      view.showSpentLink();
      return;
    }
    ({ room, token } = signed);
  }
  if (!room || !token) {
    view.showMissingLink();
    return;
  }
  // The person's own locale (the room's people) decides the language unless they
  // picked one in the menu: a first visit in another language reloads once.
  const inOwnLanguage = (welcome) => {
    if (!usePersonLocale(welcome.you?.locale)) return false;
    location.reload();
    return true;
  };
  const connection = connectRoom(view, { room, token, onWelcome: inOwnLanguage });
  installAlerts(view, connection.client); // what needs an answer, above any tab
  installWaiting(view, connection.client); // what happens while no moderator has joined
  if (embed === '1') listenToHost(connection.client, host); // fresh tokens from the host page
  window.mediation = connection; // for the host page's scripts and for tests
}

main();
