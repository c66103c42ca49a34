// The rooms screen: my rooms, public rooms with search, and a form to create one.
import { h, replace, field } from '../dom.js';
import { actionForm } from '../forms.js';

export async function renderRooms(app, { view }) {
  const t = (k, p) => app.t(k, p);
  const user = app.session.user ?? (await app.api.get('/api/me')).user;
  const mine = h('ul', { class: 'plain room-list', id: 'my-rooms' });
  const publicList = h('ul', { class: 'plain room-list', id: 'public-rooms', 'aria-live': 'polite' });
  const search = h('input', { type: 'search', id: 'room-search', name: 'q', maxlength: 100 });

  const roomItem = (room, extra) => h('li', {},
    h('span', {}, h('a', { href: `#/room/${room.id}` }, room.name), ' ',
      h('span', { class: 'muted' }, [
        room.is_private ? t('rooms.private') : t('rooms.public'),
        t('rooms.members', { count: room.member_count }),
        room.role ? t(`role.${room.role}`) : null,
      ].filter(Boolean).join(' · '))),
    extra ?? null);

  const loadMine = async () => {
    const { chatrooms } = await app.api.get(`/api/user-chatrooms/${user.id}`);
    replace(mine, chatrooms.length ? chatrooms.map((room) => roomItem(room)) : h('li', { class: 'muted' }, t('rooms.none_yet')));
  };
  let searchTimer = null;
  let searchNumber = 0;
  const more = h('button', { type: 'button', class: 'secondary', id: 'more-rooms', hidden: true }, t('rooms.more'));
  // Replies can come back out of order: only the latest search's is shown.
  const loadPublic = async (offset = 0) => {
    const number = ++searchNumber;
    const query = search.value.trim();
    const params = new URLSearchParams();
    if (query) params.set('q', query);
    if (offset) params.set('offset', String(offset));
    const page = await app.api.get(`/api/chatrooms${params.size ? `?${params}` : ''}`);
    if (number !== searchNumber) return;
    const items = page.chatrooms.map((room) => roomItem(room));
    if (offset) publicList.append(...items);
    else replace(publicList, items.length ? items : h('li', { class: 'muted' }, t('rooms.no_match')));
    more.hidden = page.next_offset === undefined || page.next_offset === null;
    more.onclick = () => loadPublic(page.next_offset).catch((e) => app.notify(app.i18n.error(e)));
  };
  search.addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => loadPublic().catch((e) => app.notify(app.i18n.error(e))), 250);
  });

  const privateBox = h('input', { type: 'checkbox', name: 'is_private', id: 'room-private' });
  const password = h('input', { type: 'password', name: 'password', id: 'room-password', autocomplete: 'new-password', maxlength: 1024, disabled: true });
  privateBox.addEventListener('change', () => { password.disabled = !privateBox.checked; });
  const create = actionForm(app, {
    label: t('rooms.create'), submitLabel: t('rooms.create_button'),
    onSubmit: async (data) => {
      const body = { name: data.get('name').trim(), is_private: privateBox.checked };
      if (privateBox.checked && data.get('password')) body.password = data.get('password');
      const { chatroom } = await app.api.post('/api/create-chatroom', body);
      app.navigate(`/room/${chatroom.id}`);
    },
  },
  field(t('rooms.name'), h('input', { name: 'name', id: 'room-name', required: true, maxlength: 100 })),
  h('label', { class: 'inline', for: 'room-private' }, privateBox, t('rooms.private_label')),
  field(t('rooms.password_optional'), password, t('rooms.password_hint')));

  replace(view,
    h('h1', {}, t('rooms.title')),
    h('div', { class: 'grid-2' },
      h('section', { class: 'card', 'aria-labelledby': 'mine-title' }, h('h2', { id: 'mine-title' }, t('rooms.mine')), mine),
      h('section', { class: 'card', 'aria-labelledby': 'create-title' }, h('h2', { id: 'create-title' }, t('rooms.create')), create)),
    h('section', { class: 'card', 'aria-labelledby': 'public-title' },
      h('h2', { id: 'public-title' }, t('rooms.public_rooms')),
      field(t('rooms.search'), search),
      publicList, more));
  app.focusHeading(view);
  await Promise.all([loadMine(), loadPublic()]);
  return () => clearTimeout(searchTimer);
}
