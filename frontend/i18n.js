// Every user-visible string, keyed by id. English first; a new language is a
// new table with the same ids (missing ids fall back to English).
// Pure module: no DOM, so it can be tested outside a browser.

const STRINGS = {
  en: {
    'app.title': 'Mediation room',

    'link.missing.title': 'A personal join link is needed',
    'link.missing.body':
      'Open this page with the join link you were given. It ends with #room=…&token=…',

    'room.ticket': 'Ticket {provider}/{id}',
    'room.state': 'State: {state}',
    'state.waiting': 'waiting for a moderator',
    'state.mediating': 'mediating',
    'state.resolved': 'resolved',
    'state.escalated': 'escalated',
    'state.closed': 'closed',
    'room.you': 'You are {user} ({role})',

    'role.client': 'Client',
    'role.freelancer': 'Freelancer',
    'role.moderator': 'Moderator',
    'role.auditor': 'Auditor',

    'people.title': 'Participants',
    'people.you': '(you)',
    'people.online': 'online',
    'people.offline': 'offline',

    'channels.label': 'Channels',
    'channel.joint': 'Joint',
    'channel.caucus.own': 'Private with moderator',
    'channel.caucus:client': 'Caucus: client',
    'channel.caucus:freelancer': 'Caucus: freelancer',
    'channel.notes': 'Internal notes',
    'hint.joint': 'Everyone in the room sees these messages.',
    'hint.caucus.own': 'Only you and the moderator see these messages.',
    'hint.caucus:client': 'Moderators and the client see these messages.',
    'hint.caucus:freelancer': 'Moderators and the freelancer see these messages.',
    'hint.notes': 'Only moderators and auditors see these notes.',
    'tab.unread': '{count} unread',

    'messages.label': 'Messages in {channel}',
    'composer.label': 'Message to {channel}',
    'composer.placeholder': 'Write a message…',
    'composer.keys': 'Enter sends, Shift+Enter adds a line.',
    'composer.send': 'Send',
    'composer.readonly': 'You are observing this room: read-only.',
    'composer.closed': 'This room is closed: read-only.',

    'msg.sending': 'Sending…',
    'msg.delivered': 'Delivered',
    'msg.failed': 'Not sent: {reason}',
    'msg.retry': 'Retry',
    'msg.edited': 'edited',
    'msg.retracted': 'Message retracted',
    'msg.earlier': 'Earlier version: {body}',

    'status.connecting': 'Connecting…',
    'status.reconnecting': 'Connection lost. Reconnecting…',
    'status.reconnectNow': 'Reconnect now',
    'fatal.4401': 'This join link is invalid or has expired. Ask for a new one.',
    'fatal.4403': 'You are not a participant of this room.',
    'fatal.4404': 'This room does not exist.',
    'fatal.detail': 'Server said: {message}',

    'notices.label': 'Notices',
    'notice.dismiss': 'Dismiss',
    'error.unauthorized': 'Not authorized',
    'error.forbidden': 'Not allowed',
    'error.not_found': 'Not found',
    'error.invalid': 'Invalid request',
    'error.too_large': 'Message too long',
    'error.rate_limited': 'Too many messages, slow down',
    'error.room_closed': 'The room is closed',
    'error.unavailable': 'Service unavailable, try again later',
    'error.internal': 'Server error, try again later',
    'error.other': 'Error',
  },
};

const FALLBACK = 'en';

function pickLanguage() {
  const wanted = globalThis.navigator?.languages ?? [];
  for (const tag of wanted) {
    const base = tag.toLowerCase().split('-')[0];
    if (base in STRINGS) return base;
  }
  return FALLBACK;
}

export const lang = pickLanguage();

/** The string `id` with `{name}` placeholders filled from `params`. */
export function t(id, params = {}) {
  const text = STRINGS[lang][id] ?? STRINGS[FALLBACK][id] ?? id;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

export function has(id) {
  return id in STRINGS[lang] || id in STRINGS[FALLBACK];
}

export function roleLabel(role) {
  return has(`role.${role}`) ? t(`role.${role}`) : role;
}

export function stateLabel(state) {
  return has(`state.${state}`) ? t(`state.${state}`) : state;
}

// A party's own caucus reads better from their side as "Private with moderator".
function isOwnCaucus(channel, role) {
  return channel === `caucus:${role}`;
}

export function channelLabel(channel, role) {
  if (isOwnCaucus(channel, role)) return t('channel.caucus.own');
  return has(`channel.${channel}`) ? t(`channel.${channel}`) : channel;
}

export function channelHint(channel, role) {
  if (isOwnCaucus(channel, role)) return t('hint.caucus.own');
  return has(`hint.${channel}`) ? t(`hint.${channel}`) : '';
}

/** Short localized title for an error code; the server's message is the detail. */
export function errorTitle(code) {
  return has(`error.${code}`) ? t(`error.${code}`) : t('error.other');
}

const timeOnly = new Intl.DateTimeFormat(lang, { hour: '2-digit', minute: '2-digit' });
const dateTime = new Intl.DateTimeFormat(lang, { dateStyle: 'medium', timeStyle: 'short' });
const full = new Intl.DateTimeFormat(lang, { dateStyle: 'full', timeStyle: 'long' });

/** `{short, long}` renderings of a Date: the time alone if it is today. */
export function formatTime(date) {
  const today = new Date().toDateString() === date.toDateString();
  return { short: (today ? timeOnly : dateTime).format(date), long: full.format(date) };
}
