// The embedded party page talks to the host page that framed it (embed.js),
// and only to it: messages are accepted from the parent window at the origin
// embed.js named, and ours are posted to that origin alone.
//
//   host → us   {type: 'mediation:token', token}            a fresh token for the room
//   us → host   {type: 'mediation:token-expiring', room, expiresAt, expired}
//               the token runs out soon (expired: false) or did (expired: true)

export function listenToHost(client, hostOrigin) {
  if (!hostOrigin || window.parent === window) return;
  window.addEventListener('message', (event) => {
    if (event.source !== window.parent || event.origin !== hostOrigin) return;
    const data = event.data;
    if (data?.type === 'mediation:token' && typeof data.token === 'string') {
      client.setToken(data.token);
    }
  });
  client.on('expiring', ({ expiresAt, expired }) => {
    const note = { type: 'mediation:token-expiring', room: client.room, expiresAt, expired };
    window.parent.postMessage(note, hostOrigin);
  });
}
