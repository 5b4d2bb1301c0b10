// The party page (and any join link): read the link, show the room.
// The token lives in the URL fragment, which browsers never send to the
// server; it only ever leaves the page inside the `hello` frame.

import { fragmentParams } from './shared/dom.js';
import { applyStaticStrings, t } from './i18n.js';
import { RoomView } from './room/view.js';
import { connectRoom } from './room/connect.js';
import { listenToHost } from './room/host.js';

function main() {
  // A different join link pasted into the address bar means a different room.
  window.addEventListener('hashchange', () => location.reload());
  applyStaticStrings(document);
  document.title = t('app.title');

  const { room, token, embed, host } = fragmentParams(location.hash);
  if (embed === '1') document.documentElement.classList.add('embedded');
  const view = new RoomView(document.getElementById('app'), {});
  if (!room || !token) {
    view.showMissingLink();
    return;
  }
  const connection = connectRoom(view, { room, token });
  if (embed === '1') listenToHost(connection.client, host); // fresh tokens from the host page
  window.mediation = connection; // for the host page's scripts and for tests
}

main();
