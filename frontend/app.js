// Entry point: read the join link, then wire the protocol client to the view.
// The token lives in the URL fragment, which browsers never send to the
// server; it only ever leaves the page inside the `hello` frame.

import { MediationClient, socketUrl } from './protocol.js';
import { RoomView } from './view.js';

function readJoinLink(hash) {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  return { room: params.get('room'), token: params.get('token') };
}

function main() {
  // A different join link pasted into the address bar means a different room.
  window.addEventListener('hashchange', () => location.reload());

  const { room, token } = readJoinLink(location.hash);
  let client = null;
  const view = new RoomView(document, {
    onSend: (channel, body) => client.send(channel, body),
    onRetry: (id) => client.retry(id),
    onReconnect: () => client.reconnectNow(),
  });
  if (!room || !token) {
    view.showMissingLink();
    return;
  }

  client = new MediationClient({ url: socketUrl(location), room, token });
  client
    .on('status', (s) => view.setStatus(s))
    .on('welcome', (w) => view.welcome(w))
    .on('message', (m) => view.message(m))
    .on('event', (e) => view.event(e))
    .on('sending', (e) => view.sending(e))
    .on('delivered', (d) => view.delivered(d))
    .on('failed', (e) => view.failed(e))
    .on('presence', (p) => view.presence(p))
    .on('notice', (e) => view.notice(e));
  window.addEventListener('online', () => client.reconnectNow());
  client.connect();
}

main();
