// Wire one protocol client to one room view: the same for a party's page
// and for the room a moderator opens in the console.

import { MediationClient, socketUrl } from '../protocol.js';
import { RoomFiles } from './files.js';
import { EarlierPages, PAGE } from './history.js';

// `onWelcome(welcome)`, if given, sees the welcome first; returning true stops the
// view from rendering it (the party page reloads in the person's own language).
export function connectRoom(view, { room, token, url = socketUrl(location), onWelcome = null }) {
  // a long room opens on its newest page; earlier ones load on scroll (room/history.js)
  const client = new MediationClient({ url, room, token, recent: PAGE });
  view.files = new RoomFiles(room, token);
  view.actions.onSend = (channel, body) => client.send(channel, body);
  view.actions.onRetry = (id) => client.retry(id);
  view.actions.onReconnect = () => client.reconnectNow();
  view.actions.onAct = (type, fields, channel) => client.act(type, fields, channel);
  view.actions.onTyping = (channel) => client.typing(channel);
  const freshToken = () => view.files.setToken(client.token); // HTTP calls use it too
  client
    .on('status', (s) => view.setStatus(s))
    .on('token', freshToken)
    .on('welcome', (w) => {
      freshToken();
      if (onWelcome?.(w)) {
        client.silence(); // the page goes: no other listener sees this welcome or its replay
        return;
      }
      view.welcome(w);
    })
    .on('message', (m) => view.message(m))
    .on('event', (e) => view.event(e))
    .on('sending', (e) => view.sending(e))
    .on('delivered', (d) => view.delivered(d))
    .on('failed', (e) => view.failed(e))
    .on('presence', (p) => view.presence(p))
    .on('typing', (p) => view.typing(p))
    .on('notice', (e) => view.notice(e));
  view.earlier = new EarlierPages(view, client); // after the view's own listeners
  const online = () => client.reconnectNow();
  window.addEventListener('online', online);
  client.connect();
  return {
    client,
    stop() {
      window.removeEventListener('online', online);
      client.stop();
    },
  };
}
