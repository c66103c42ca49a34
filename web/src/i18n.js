// The interface's language: every web/locales/*.json file is one (the build checks they all have
// English's keys). Chosen from the browser's languages unless the user picked one.
import locales from 'parley:locales';

const kStorageKey = 'parley.locale';

export class I18n {
  constructor(storage = window.localStorage) {
    this.storage = storage;
    this.locale = this.#initial();
    this.listeners = new Set();
  }

  /** Every available interface language: [{tag, name}] in its own name. */
  get available() {
    return Object.entries(locales).map(([tag, messages]) => ({ tag, name: messages._name }));
  }

  /** The text for `key` with {placeholders} filled in; English when the locale lacks it. */
  t(key, params = {}) {
    if (!(key in locales.en)) console.error(`parley: no interface text "${key}"`);
    const text = locales[this.locale]?.[key] ?? locales.en[key] ?? key;
    return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
  }

  has(key) { return key in locales.en; }

  /** The error's text in plain words: a known code's own sentence, else the server's message. */
  error(error) {
    const key = `error.${error?.code}`;
    if (error?.code && key in locales.en) return this.t(key);
    return error?.message || this.t('error.internal');
  }

  set(tag) {
    if (!(tag in locales) || tag === this.locale) return;
    this.locale = tag;
    this.storage.setItem(kStorageKey, tag);
    document.documentElement.lang = tag;
    for (const listener of this.listeners) listener(tag);
  }

  onChange(listener) { this.listeners.add(listener); }

  /** A language tag's name in the interface language ("Spanish", "西班牙语"). */
  languageName(tag) {
    try {
      return new Intl.DisplayNames([this.locale], { type: 'language' }).of(tag) ?? tag;
    } catch {
      return tag;
    }
  }

  formatTime(iso) {
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return '';
    return new Intl.DateTimeFormat(this.locale, { dateStyle: 'short', timeStyle: 'short' }).format(date);
  }

  #initial() {
    const saved = this.storage.getItem(kStorageKey);
    const wanted = saved ? [saved] : (navigator.languages ?? [navigator.language ?? 'en']);
    for (const tag of wanted) {
      const match = matchLocale(tag);
      if (match) {
        document.documentElement.lang = match;
        return match;
      }
    }
    document.documentElement.lang = 'en';
    return 'en';
  }
}

// "zh-CN", "zh-SG", "zh-Hans-CN" and bare "zh" read Simplified Chinese; "es-MX" reads "es".
function matchLocale(tag) {
  if (!tag) return null;
  if (tag in locales) return tag;
  const lower = tag.toLowerCase();
  if (lower.startsWith('zh')) return 'zh-Hans' in locales ? 'zh-Hans' : null;
  const base = lower.split('-')[0];
  return Object.keys(locales).find((t) => t.toLowerCase() === base) ?? null;
}
