// Shared pieces of the screens: forms that show their own errors, the language picker.
import { h, replace } from './dom.js';

/** The languages people can read and speak in; Parley's engines say which pairs they serve. */
export const kLanguages = ['en', 'es', 'ca', 'gl', 'it', 'fr', 'de', 'pt', 'nl', 'zh-Hans', 'ja', 'ko', 'ru', 'ar', 'hi'];

/** The browser's language as one of ours: "es-MX" → "es", any Chinese → "zh-Hans". */
export function browserLanguage() {
  const tag = (navigator.language ?? 'en').toLowerCase();
  if (tag.startsWith('zh')) return 'zh-Hans';
  const base = tag.split('-')[0];
  return kLanguages.includes(base) ? base : 'en';
}

export function languageSelect(app, selected, attributes = {}) {
  const options = kLanguages.includes(selected) || !selected ? kLanguages : [selected, ...kLanguages];
  return h('select', attributes, options.map((tag) =>
    h('option', { value: tag, selected: tag === selected }, `${app.i18n.languageName(tag)} (${tag})`)));
}

/**
 * A form whose submit runs `action(formData)`: the button is disabled meanwhile, and a failure is
 * shown in plain words inside the form (role=alert), keeping what the user typed.
 */
export function actionForm(app, { label, submitLabel, onSubmit, className = 'stack' }, ...controls) {
  const error = h('p', { class: 'error-text', role: 'alert', hidden: true });
  const button = h('button', { type: 'submit' }, submitLabel);
  const form = h('form', { class: className, 'aria-label': label, novalidate: false }, ...controls, error, h('div', { class: 'row' }, button));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!form.reportValidity()) return;
    button.disabled = true;
    error.hidden = true;
    try {
      await onSubmit(new FormData(form), form);
    } catch (failure) {
      replace(error, app.i18n.error(failure));
      error.hidden = false;
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

/** A button that runs an async action and reports its failure through app.notify. */
export function actionButton(app, text, action, attributes = {}) {
  const button = h('button', { type: 'button', ...attributes }, text);
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      await action();
    } catch (failure) {
      app.notify(app.i18n.error(failure));
    } finally {
      if (button.isConnected) button.disabled = false;
    }
  });
  return button;
}

/** Asks before something that cannot be undone; resolves true when confirmed. */
export function confirmDialog(app, question, confirmText) {
  return new Promise((resolve) => {
    const dialog = h('dialog', { 'aria-label': question },
      h('p', {}, question),
      h('div', { class: 'row' },
        h('button', { type: 'button', class: 'danger', onclick: () => { dialog.close(); resolve(true); } }, confirmText),
        h('button', { type: 'button', class: 'secondary', onclick: () => { dialog.close(); resolve(false); } }, app.t('common.cancel'))));
    dialog.addEventListener('cancel', () => resolve(false));
    dialog.addEventListener('close', () => dialog.remove());
    document.body.append(dialog);
    dialog.showModal();
    // The safe answer has the focus: Enter right away must not destroy anything.
    dialog.querySelector('button.secondary').focus();
  });
}

export function avatar(user, className = 'avatar') {
  if (user?.avatar_url) return h('img', { class: className, src: user.avatar_url, alt: '' });
  return h('span', { class: className, 'aria-hidden': 'true' }, (user?.username ?? '?').charAt(0).toUpperCase());
}
