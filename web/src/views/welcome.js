// Sign in, sign up, continue as a guest, or sign in with Google (when the server has it).
import { h, replace, field } from '../dom.js';
import { actionForm, actionButton, browserLanguage, languageSelect } from '../forms.js';

export async function renderWelcome(app, { view }) {
  if (app.session.signedIn && !app.session.user?.is_guest) {
    app.navigate('/rooms');
    return;
  }
  const t = (k, p) => app.t(k, p);
  const language = browserLanguage();
  const signedIn = async (tokens) => {
    app.session.signIn(tokens);
    app.continueAfterSignIn();
  };

  const login = actionForm(app, {
    label: t('welcome.sign_in'), submitLabel: t('welcome.sign_in'),
    onSubmit: async (data) => {
      const who = data.get('email').trim();
      const body = who.includes('@') ? { email: who } : { username: who };
      signedIn(await app.api.post('/api/login', { ...body, password: data.get('password') }));
    },
  },
  field(t('welcome.email_or_username'), h('input', { name: 'email', id: 'login-email', autocomplete: 'username', required: true })),
  field(t('welcome.password'), h('input', { name: 'password', id: 'login-password', type: 'password', autocomplete: 'current-password', required: true })));

  const register = actionForm(app, {
    label: t('welcome.sign_up'), submitLabel: t('welcome.create_account'),
    onSubmit: async (data) => signedIn(await app.api.post('/api/register', {
      email: data.get('email').trim(),
      username: data.get('username').trim(),
      password: data.get('password'),
      preferred_language: data.get('preferred_language'),
    })),
  },
  field(t('welcome.email'), h('input', { name: 'email', id: 'signup-email', type: 'email', autocomplete: 'email', required: true })),
  field(t('welcome.username'), h('input', { name: 'username', id: 'signup-username', autocomplete: 'username', required: true, minlength: 3, maxlength: 32, pattern: '[A-Za-z0-9_.\\-]{3,32}' }), t('welcome.username_hint')),
  field(t('welcome.password'), h('input', { name: 'password', id: 'signup-password', type: 'password', autocomplete: 'new-password', required: true, minlength: 8 }), t('welcome.password_hint')),
  field(t('welcome.language'), languageSelect(app, language, { name: 'preferred_language', id: 'signup-language' }), t('welcome.language_hint')));

  const guestLanguage = languageSelect(app, language, { id: 'guest-language' });
  const guest = h('div', { class: 'stack' },
    h('p', {}, t('welcome.guest_text')),
    field(t('welcome.language'), guestLanguage),
    h('div', { class: 'row' }, actionButton(app, t('welcome.continue_as_guest'), async () =>
      signedIn(await app.api.post('/api/guest', { preferred_language: guestLanguage.value })), { id: 'guest' })));

  const google = app.config?.features?.google_sign_in
    ? h('section', { class: 'card' }, h('h2', {}, 'Google'),
      h('a', { class: 'button', href: app.api.url('/api/auth/google'), id: 'google' }, t('welcome.google')))
    : null;

  replace(view,
    h('h1', {}, t('welcome.title')),
    h('p', {}, t('welcome.intro')),
    app.session.user?.is_guest ? h('p', { class: 'notice info' }, t('welcome.guest_upgrade')) : null,
    h('div', { class: 'grid-2' },
      h('section', { class: 'card', 'aria-labelledby': 'signin-title' }, h('h2', { id: 'signin-title' }, t('welcome.sign_in')), login),
      h('section', { class: 'card', 'aria-labelledby': 'signup-title' }, h('h2', { id: 'signup-title' }, t('welcome.sign_up')), register)),
    app.session.signedIn ? null : h('section', { class: 'card', 'aria-labelledby': 'guest-title' }, h('h2', { id: 'guest-title' }, t('welcome.guest')), guest),
    google);
  app.focusHeading(view);
}
