// Every user-visible string, keyed by id. English first; a new language is a
// new table with the same ids in i18n/ (missing ids fall back to English).

import en from './i18n/en.js';

// One table per language, each in i18n/<code>.js; add a language by adding
// its file and one line here.
const STRINGS = { en };

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

const money = new Map();

/** "1350.00", "USD" -> "$1,350.00" in the reader's language (the code if it is unknown). */
export function formatMoney(amount, currency) {
  try {
    if (!money.has(currency)) {
      money.set(currency, new Intl.NumberFormat(lang, {
        style: 'currency', currency, currencyDisplay: 'code',
      }));
    }
    return money.get(currency).format(Number(amount));
  } catch {
    return `${amount} ${currency}`;
  }
}

const SIZE_UNITS = ['byte', 'kilobyte', 'megabyte', 'gigabyte'];

/** 48213 -> "48.2 kB" in the reader's language (decimal units, as Intl names them). */
export function formatSize(bytes) {
  let value = Number(bytes);
  let unit = 0;
  while (value >= 1000 && unit < SIZE_UNITS.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return new Intl.NumberFormat(lang, {
    style: 'unit', unit: SIZE_UNITS[unit], unitDisplay: unit === 0 ? 'long' : 'short',
    maximumFractionDigits: unit === 0 ? 0 : 1,
  }).format(value);
}

const TYPE_IDS = {
  'application/pdf': 'pdf',
  'image/png': 'png',
  'image/jpeg': 'jpeg',
  'image/gif': 'gif',
  'image/webp': 'webp',
  'text/plain': 'text',
  'application/zip': 'zip',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'docx',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': 'xlsx',
};

/** A file's type as `{id, badge, label}`: "pdf", "PDF", "PDF document" (the MIME type if unknown). */
export function fileType(contentType) {
  const id = TYPE_IDS[contentType];
  if (!id) return { id: 'other', badge: t('file.badge.other'), label: contentType };
  return { id, badge: t(`file.badge.${id}`), label: t(`file.type.${id}`) };
}

/** Fill a static page's [data-i18n] elements (text) and [data-i18n-label] (aria-label). */
export function applyStaticStrings(root) {
  for (const node of root.querySelectorAll('[data-i18n]')) node.textContent = t(node.dataset.i18n);
  for (const node of root.querySelectorAll('[data-i18n-label]')) {
    node.setAttribute('aria-label', t(node.dataset.i18nLabel));
  }
  for (const node of root.querySelectorAll('[data-i18n-placeholder]')) {
    node.setAttribute('placeholder', t(node.dataset.i18nPlaceholder));
  }
  root.documentElement?.setAttribute('lang', lang);
}
