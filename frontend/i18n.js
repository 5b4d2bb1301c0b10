// Every user-visible string, keyed by id. English first; a new language is a
// new table with the same ids in i18n/ (missing ids fall back to English).
//
// The language: the one picked in a page's language menu (remembered in
// localStorage), else the person's own locale (the party view learns it from
// the welcome frame's `you.locale` and remembers it), else the first of the
// browser's languages we have, else English. Changing it reloads the page
// (`chooseLanguage`), so everything, formatters included, is rendered afresh.

import en from './i18n/en.js';
import de from './i18n/de.js';
import es from './i18n/es.js';

// One table per language, each in i18n/<code>.js; add a language by adding
// its file and one line here.
const STRINGS = { en, de, es };

const FALLBACK = 'en';
const CHOSEN_KEY = 'mediation.lang'; // what the person picked in a menu
const PERSON_KEY = 'mediation.personLocale'; // the locale the room's people give them

/** The languages we have, as codes ("en", "de", "es"). */
export const languages = Object.keys(STRINGS);

function stored(key) {
  try {
    return globalThis.localStorage?.getItem(key) ?? null;
  } catch {
    return null; // storage refused (a sandboxed frame, private mode): not remembered
  }
}

function store(key, value) {
  try {
    if (value == null) globalThis.localStorage?.removeItem(key);
    else globalThis.localStorage?.setItem(key, value);
  } catch {
    // not remembered: the choice still holds until the page is left
  }
}

/** The table's code for a language tag or locale ("de-AT", "es_MX" -> "de", "es"), or null. */
export function supported(tag) {
  if (typeof tag !== 'string' || !tag) return null;
  const base = tag.toLowerCase().split(/[-_]/)[0];
  return base in STRINGS ? base : null;
}

function pickLanguage() {
  const chosen = supported(stored(CHOSEN_KEY));
  if (chosen) return chosen;
  const person = supported(stored(PERSON_KEY));
  if (person) return person;
  for (const tag of globalThis.navigator?.languages ?? []) {
    const base = supported(tag);
    if (base) return base;
  }
  return FALLBACK;
}

export let lang = pickLanguage();

/** The name of a language in that language ("Deutsch"), for the language menu. */
export function languageName(code) {
  return STRINGS[code]?.['language.name'] ?? code;
}

/** The person picked `code` in a language menu: remember it and render the page anew. */
export function chooseLanguage(code) {
  if (!supported(code) || code === lang) return;
  store(CHOSEN_KEY, code);
  globalThis.location?.reload();
}

/**
 * The person's own locale, as the room's people give it (`welcome.you.locale`,
 * absent: none given). Remembered for the next pages; true when it changes the
 * language of this page, which the caller then reloads.
 */
export function usePersonLocale(locale) {
  store(PERSON_KEY, supported(locale) ? locale : null);
  const wanted = pickLanguage();
  return wanted !== lang;
}

let plurals = null;

function pluralForm(count) {
  if (plurals?.lang !== lang) plurals = { lang, rules: new Intl.PluralRules(lang) };
  return plurals.rules.select(Number(count));
}

function lookup(id) {
  return STRINGS[lang][id] ?? STRINGS[FALLBACK][id];
}

/**
 * The string `id` with `{name}` placeholders filled from `params`. A table's
 * value may be an object of plural forms ({one, other}, or the forms
 * Intl.PluralRules names for the language: zero, two, few, many): the form
 * for `params.count` (else `params.n`) is used, `other` when that form is missing.
 */
export function t(id, params = {}) {
  let text = lookup(id) ?? id;
  if (typeof text === 'object') {
    const form = pluralForm(params.count ?? params.n ?? 0);
    text = text[form] ?? text.other;
  }
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

// Intl formatters are costly to build: one set per language, built on first use.
const formatters = new Map();

function formatter(kind, make) {
  const key = `${lang}|${kind}`;
  if (!formatters.has(key)) formatters.set(key, make(lang));
  return formatters.get(key);
}

const timeOnly = () => formatter('time', (l) => new Intl.DateTimeFormat(l, { hour: '2-digit', minute: '2-digit' }));
const dateTime = () => formatter('dateTime', (l) => new Intl.DateTimeFormat(l, { dateStyle: 'medium', timeStyle: 'short' }));
const full = () => formatter('full', (l) => new Intl.DateTimeFormat(l, { dateStyle: 'full', timeStyle: 'long' }));

/** `{short, long}` renderings of a Date: the time alone if it is today. */
export function formatTime(date) {
  const today = new Date().toDateString() === date.toDateString();
  return { short: (today ? timeOnly() : dateTime()).format(date), long: full().format(date) };
}

/** 1350 -> "1,350" (English), "1.350" (German): a count or any plain number. */
export function formatNumber(value) {
  return formatter('number', (l) => new Intl.NumberFormat(l)).format(Number(value));
}

/** 0.42 -> "42%" (English), "42 %" (German). */
export function formatPercent(fraction) {
  return formatter('percent', (l) => new Intl.NumberFormat(l, { style: 'percent', maximumFractionDigits: 0 }))
    .format(fraction);
}

/** "1350.00", "USD" -> "$1,350.00" in the reader's language (the code if it is unknown). */
export function formatMoney(amount, currency) {
  try {
    const money = formatter(`money:${currency}`, (l) => new Intl.NumberFormat(l, {
      style: 'currency', currency, currencyDisplay: 'code',
    }));
    return money.format(Number(amount));
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
  return formatter(`size:${unit}`, (l) => new Intl.NumberFormat(l, {
    style: 'unit', unit: SIZE_UNITS[unit], unitDisplay: unit === 0 ? 'long' : 'short',
    maximumFractionDigits: unit === 0 ? 0 : 1,
  })).format(value);
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
