// The language menu in each page's header: a labelled <select> of the
// languages we have, each named in its own language. Picking one remembers it
// (localStorage) and reloads the page, which then renders every string, date
// and amount in that language.

import { h } from './dom.js';
import { chooseLanguage, lang, languageName, languages, t } from '../i18n.js';

let made = 0;

/** A `<p class="language-menu">` holding the label and the select. */
export function languageMenu() {
  made += 1;
  const id = `language-menu-${made}`;
  const select = h('select', {
    id, class: 'language-select', onchange: () => chooseLanguage(select.value),
  }, languages.map((code) => h('option', {
    value: code, lang: code, selected: code === lang, text: languageName(code),
  })));
  return h('p', { class: 'language-menu' },
    h('label', { for: id, text: t('language.label') }), select);
}

/** Put the menu at the end of `header` once (a header rebuilt gets a new one). */
export function addLanguageMenu(header) {
  if (!header || header.querySelector('.language-menu')) return;
  header.append(languageMenu());
}
