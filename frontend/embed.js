// Put a party's room on the host marketplace's own page, in an iframe.
//
//   <div id="dispute"></div>
//   <script src="https://MEDIATION_HOST/embed.js" async
//           data-room="ROOM_ID" data-token="ROOM_TOKEN" data-target="#dispute"></script>
//
// or, from the host's own scripts (e.g. a single-page app):
//
//   MediationEmbed.mount(element, { room, token, height: '640px' })
//
// The token travels in the iframe URL's fragment, which browsers never send
// to any server. Mint it server-side (POST /api/rooms/{id}/tokens) per user.

(function embed() {
  const script = document.currentScript;
  const origin = script ? new URL(script.src, location.href).origin : location.origin;

  function mount(target, { room, token, height = '640px', title = 'Dispute mediation' } = {}) {
    const host = typeof target === 'string' ? document.querySelector(target) : target;
    if (!host || !room || !token) throw new Error('MediationEmbed.mount(target, {room, token}) needs all three');
    const frame = document.createElement('iframe');
    const params = new URLSearchParams({ room, token, embed: '1' });
    frame.src = `${origin}/#${params}`;
    frame.title = title;
    frame.referrerPolicy = 'no-referrer';
    frame.allow = 'clipboard-write';
    frame.style.cssText = `width:100%;height:${height};border:0;display:block;`;
    host.replaceChildren(frame);
    return frame;
  }

  window.MediationEmbed = { mount };
  const d = script?.dataset;
  if (d?.room && d?.token) {
    const go = () => mount(d.target ?? script.parentElement, d);
    if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', go);
    else go();
  }
}());
