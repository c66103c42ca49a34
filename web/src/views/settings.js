// Account settings: username, preferred language, password, avatar, deletion.
import { h, replace, field } from '../dom.js';
import { actionForm, avatar, confirmDialog, kLanguages, languageSelect } from '../forms.js';

export async function renderSettings(app, { view }) {
  const t = (k, p) => app.t(k, p);
  const me = (await app.api.get('/api/me')).user;
  app.session.setUser(me);
  const saved = (form, text) => {
    const status = form.querySelector('.saved') ?? form.appendChild(h('p', { class: 'saved muted', role: 'status' }));
    status.textContent = text;
  };

  if (me.is_guest) {
    replace(view, h('h1', {}, t('settings.title')),
      h('p', {}, t('settings.guest', { name: me.username })),
      h('p', {}, h('a', { href: '#/welcome' }, t('settings.guest_link'))));
    app.focusHeading(view);
    return;
  }

  const picture = h('div', { class: 'row', id: 'avatar-preview' }, avatar(me, 'avatar large'));
  const avatarForm = actionForm(app, {
    label: t('settings.avatar'), submitLabel: t('settings.upload'),
    onSubmit: async (data, form) => {
      const file = data.get('avatar');
      if (!(file instanceof File) || file.size === 0) throw { code: 'validation_failed', message: t('settings.choose_file') };
      const reply = await app.api.upload('/api/upload-avatar', { avatar: file });
      const user = reply?.user ?? (await app.api.get('/api/me')).user;
      app.session.setUser(user);
      replace(picture, avatar(user, 'avatar large'));
      saved(form, t('settings.saved'));
    },
  }, picture, field(t('settings.avatar_file'), h('input', { type: 'file', name: 'avatar', id: 'avatar-file', accept: 'image/png,image/jpeg,image/webp' }), t('settings.avatar_hint')));

  const profile = actionForm(app, {
    label: t('settings.profile'), submitLabel: t('settings.save'),
    onSubmit: async (data, form) => {
      const username = data.get('username').trim();
      const language = data.get('preferred_language');
      let user = app.session.user;
      if (username !== user.username) user = (await app.api.post('/api/update-username', { username })).user ?? user;
      if (language !== user.preferred_language) {
        user = (await app.api.post('/api/update-preferred-language', { preferred_language: language })).user ?? user;
      }
      const spoken = data.getAll('spoken_languages');
      if (spoken.map((tag) => tag.split('-')[0].toLowerCase()).join(',') !== (user.spoken_languages ?? []).join(',')) {
        await app.api.post('/api/update-spoken-languages', { spoken_languages: spoken });
      }
      app.session.setUser((await app.api.get('/api/me')).user);
      saved(form, t('settings.saved'));
    },
  },
  field(t('welcome.username'), h('input', { name: 'username', id: 'settings-username', value: me.username, required: true, minlength: 3, maxlength: 32 }), t('welcome.username_hint')),
  field(t('settings.language'), languageSelect(app, me.preferred_language, { name: 'preferred_language', id: 'settings-language' }), t('welcome.language_hint')),
  field(t('settings.spoken_languages'), spokenLanguages(app, me.spoken_languages ?? []), t('settings.spoken_hint')));

  const password = actionForm(app, {
    label: t('settings.password'), submitLabel: t('settings.change_password'),
    onSubmit: async (data, form) => {
      if (data.get('new_password') !== data.get('confirm')) throw { code: 'validation_failed', message: t('settings.mismatch') };
      let tokens;
      try {
        tokens = await app.api.post('/api/change-password', { current_password: data.get('current_password'), new_password: data.get('new_password') });
      } catch (error) {
        if (error.code === 'forbidden') throw { code: 'validation_failed', message: t('settings.wrong_password') };
        throw error;
      }
      app.session.signIn(tokens);
      form.reset();
      saved(form, t('settings.password_changed'));
    },
  },
  field(t('settings.current_password'), h('input', { type: 'password', name: 'current_password', id: 'current-password', autocomplete: 'current-password', required: true })),
  field(t('settings.new_password'), h('input', { type: 'password', name: 'new_password', id: 'new-password', autocomplete: 'new-password', required: true, minlength: 8 }), t('welcome.password_hint')),
  field(t('settings.confirm_password'), h('input', { type: 'password', name: 'confirm', id: 'confirm-password', autocomplete: 'new-password', required: true, minlength: 8 })));

  const remove = actionForm(app, {
    label: t('settings.delete'), submitLabel: t('settings.delete_button'),
    onSubmit: async (data) => {
      if (!(await confirmDialog(app, t('settings.confirm_delete'), t('settings.delete_button')))) return;
      const password = data.get('password');
      try {
        await app.api.post('/api/delete-account', password ? { password } : {});
      } catch (error) {
        if (error.code === 'forbidden') throw { code: 'validation_failed', message: t(password ? 'settings.wrong_password' : 'settings.sign_in_again') };
        throw error;
      }
      app.session.signOut();
    },
  }, h('p', {}, t('settings.delete_text')),
  field(t('welcome.password'), h('input', { type: 'password', name: 'password', id: 'delete-password', autocomplete: 'current-password' }), t('settings.delete_password_hint')));
  remove.querySelector('button[type="submit"]').classList.add('danger');

  replace(view,
    h('h1', {}, t('settings.title')),
    h('p', { class: 'muted' }, me.email ?? ''),
    h('div', { class: 'grid-2' },
      h('section', { class: 'card' }, h('h2', {}, t('settings.profile')), profile),
      h('section', { class: 'card' }, h('h2', {}, t('settings.avatar')), avatarForm),
      h('section', { class: 'card' }, h('h2', {}, t('settings.password')), password),
      h('section', { class: 'card' }, h('h2', {}, t('settings.delete')), remove)));
  app.focusHeading(view);
}

// The languages the user speaks (the server keeps primary subtags: "zh-Hans" is stored as "zh").
function spokenLanguages(app, spoken) {
  const primary = (tag) => tag.split('-')[0].toLowerCase();
  return h('select', { name: 'spoken_languages', id: 'settings-spoken', multiple: true, size: 5 },
    kLanguages.map((tag) => h('option', { value: tag, selected: spoken.includes(primary(tag)) }, `${app.i18n.languageName(tag)} (${tag})`)));
}
