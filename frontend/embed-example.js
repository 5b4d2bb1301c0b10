// The host page's own call of embed-example.html: the room and token come
// from this page's fragment (a real host mints them server-side).
const params = new URLSearchParams(location.hash.slice(1));
MediationEmbed.mount('#dispute', {
  room: params.get('room'), token: params.get('token'), height: '560px',
});
