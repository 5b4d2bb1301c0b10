// The moderator console: the queue on one side, the room being worked on
// the other. Opened with a staff token in the fragment: /console.html#token=..
// (`&room=r_..` opens that room at once). An observer's staff token opens it
// read-only: no toolbar, no composer, no claim.

import { Announcer, fragmentParams, h } from '../shared/dom.js';
import { Api } from '../shared/api.js';
import { applyStaticStrings, t } from '../i18n.js';
import { connectRoom } from '../room/connect.js';
import { Queue } from './queue.js';
import { SlaPanel } from './sla.js';
import { ReviewPanel } from './review.js';
import { Toolbar } from './toolbar.js';
import { installShortcuts, showHelp } from './keys.js';
import { ConsoleRoomView, Layout } from './layout.js';
import { problemKind, showTokenBanner } from './problem.js';
import { addLanguageMenu } from '../shared/language.js';

/** The staff token's claims (not verified here: the server does that on every call). */
function claims(token) {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(part));
  } catch {
    return {};
  }
}

function main() {
  applyStaticStrings(document);
  document.title = t('console.title');
  addLanguageMenu(document.querySelector('.console-bar'));
  const { token, room: asked } = fragmentParams(location.hash);
  const status = document.getElementById('console-status');
  const pane = document.getElementById('room-pane');
  if (!token) {
    status.textContent = t('console.noToken');
    status.className = 'banner banner-error';
    status.hidden = false;
    return;
  }
  const me = claims(token).sub ?? claims(token).user ?? '';
  const observing = claims(token).role === 'observer';
  document.body.classList.toggle('observing', observing);
  document.getElementById('console-you').textContent = me ? t('console.you', { user: me }) : '';
  const api = new Api(token);
  const announcer = new Announcer(document.getElementById('console-announcer'));
  const layout = new Layout({ header: document.querySelector('.console-bar'),
    console: document.querySelector('.console'), queue: document.getElementById('queue'), pane });
  // a refused token: every call fails alike, so the page says so once, for good (a 403 from
  // the queue is a token that may not read it; from a join or a claim it may mean other things)
  const refused = (exc, kind = problemKind(exc)) => {
    if (kind !== 'token') return false;
    showTokenBanner(status);
    return true;
  };
  let open = null; // {roomId, view, connection, toolbar}

  async function openRoom(room) {
    if (open?.roomId === room.id) {
      layout.roomShown(); // on a phone: back from the drawer to the room
      return;
    }
    let joined;
    try {
      joined = await api.post(`/api/rooms/${encodeURIComponent(room.id)}/join`);
    } catch (exc) {
      if (!refused(exc, exc.status === 401 ? 'token' : '')) announce(t('console.joinFailed', { message: exc.message }), true);
      return;
    }
    open?.connection.stop();
    const container = h('div', { class: 'room-page' });
    pane.replaceChildren(container);
    const view = new ConsoleRoomView(container, {}, { headingLevel: 2, titleFromTicket: true });
    const connection = connectRoom(view, { room: room.id, token: joined.token });
    const toolbar = observing ? null : new Toolbar(view, api, room.id);
    if (observing) {
      container.prepend(h('p', { class: 'banner observing-note', role: 'status', text: t('console.observing') }));
    }
    let lastState = null;
    const refreshToolbar = view.onChange ?? (() => {});
    view.onChange = () => { // the queue shows this room's state too: re-read it when it moves
      refreshToolbar();
      if (view.room && view.room.state !== lastState) {
        lastState = view.room.state;
        queue.soon();
      }
    };
    open = { roomId: room.id, view, connection, toolbar };
    queue.current = room.id;
    queue.render();
    layout.roomShown();
    window.mediation = connection; // for tests
  }

  async function claim(room) {
    try {
      await api.post(`/api/rooms/${encodeURIComponent(room.id)}/claim`);
    } catch (exc) {
      if (!refused(exc, exc.status === 401 ? 'token' : '')) announce(t('console.claimFailed', { message: exc.message }), true);
      queue.refresh();
      return;
    }
    await openRoom(room);
    queue.refresh();
  }

  function announce(text, error = false) {
    announcer.say(text);
    if (error && !status.classList.contains('token-refused')) {
      status.textContent = text;
      status.className = 'banner banner-error';
      status.hidden = false;
      setTimeout(() => { status.hidden = true; }, 8000);
    }
  }

  const queue = new Queue(document.getElementById('queue'), api, me, {
    onOpen: openRoom, onClaim: observing ? null : claim, announce: (text) => announcer.say(text),
    onProblem: refused, onRender: (q) => layout.counted(q),
  });
  queue.start();
  if (!observing) { // SLA policies and peer review are the moderators'
    const sla = new SlaPanel(api, { announce: (text) => announcer.say(text), changed: () => queue.soon() });
    document.getElementById('queue').append(sla.root);
    const review = new ReviewPanel(api, { // peer review: the inbox and the review page
      announce: (text) => announcer.say(text),
      show: (node) => {
        open?.connection.stop();
        open = null;
        queue.current = null;
        pane.replaceChildren(node);
        layout.roomShown();
        pane.focus();
      },
    });
    document.getElementById('queue').append(review.root);
  }
  if (asked) openRoom({ id: asked });
  const keysQueue = { // j / k open the drawer on a phone first
    move: (step) => { layout.showQueue(); queue.move(step); }, refresh: () => queue.refresh() };
  installShortcuts({ queue: keysQueue, view: () => open?.view ?? null, toolbar: () => open?.toolbar ?? null });
  document.getElementById('help-button').addEventListener('click', showHelp);
}

main();
