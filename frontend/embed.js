// Put a party's room on the host marketplace's own page, in an iframe.
//
//   <div id="dispute"></div>
//   <script src="https://MEDIATION_HOST/embed.js" async
//           data-room="ROOM_ID" data-token="ROOM_TOKEN" data-target="#dispute"></script>
//
// or, from the host's own scripts (e.g. a single-page app):
//
//   const handle = MediationEmbed.mount(element, {
//     room, token, height: '640px',
//     onTokenExpiring: async ({ room, expiresAt, expired }) => fetchFreshTokenFromOurBackend(room),
//   });
//   handle.setToken(freshToken);   // any time: the room stays open past the old token's expiry
//
// Shortly before the token runs out (and again if it did), the host element
// gets a `mediation:token-expiring` event ({detail: {room, expiresAt, expired}})
// and `onTokenExpiring` is called; a token it returns (or resolves to) is
// passed on with setToken. Tokens go to the iframe by postMessage, to the
// mediation origin only, and the iframe takes them from this page only.
//
// The first token travels in the iframe URL's fragment, which browsers never
// send to any server. Mint tokens server-side (POST /api/rooms/{id}/tokens) per user.

(function embed() {
  const script = document.currentScript;
  const origin = script ? new URL(script.src, location.href).origin : location.origin;

  function mount(target, {
    room, token, height = '640px', title = 'Dispute mediation', onTokenExpiring = null,
  } = {}) {
    const host = typeof target === 'string' ? document.querySelector(target) : target;
    if (!host || !room || !token) throw new Error('MediationEmbed.mount(target, {room, token}) needs all three');
    const frame = document.createElement('iframe');
    const params = new URLSearchParams({ room, token, embed: '1', host: location.origin });
    frame.src = `${origin}/#${params}`;
    frame.title = title;
    frame.referrerPolicy = 'no-referrer';
    frame.allow = 'clipboard-write';
    frame.style.cssText = `width:100%;height:${height};border:0;display:block;`;
    host.replaceChildren(frame);

    const setToken = (fresh) => {
      if (typeof fresh !== 'string' || !fresh) throw new Error('setToken(token) needs a token');
      frame.contentWindow?.postMessage({ type: 'mediation:token', token: fresh }, origin);
    };
    const listener = async (event) => {
      if (event.source !== frame.contentWindow || event.origin !== origin) return;
      if (event.data?.type !== 'mediation:token-expiring') return;
      const { expiresAt = null, expired = false } = event.data;
      const detail = { room, expiresAt, expired };
      host.dispatchEvent(new CustomEvent('mediation:token-expiring', { detail }));
      if (onTokenExpiring) {
        const fresh = await onTokenExpiring(detail);
        if (fresh) setToken(fresh);
      }
    };
    window.addEventListener('message', listener);
    return {
      frame,
      setToken,
      unmount() {
        window.removeEventListener('message', listener);
        frame.remove();
      },
    };
  }

  window.MediationEmbed = { mount };
  const d = script?.dataset;
  if (d?.room && d?.token) {
    const go = () => mount(d.target ?? script.parentElement, d);
    if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', go);
    else go();
  }
}());
