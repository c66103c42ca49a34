// An invite link (#/join/<room>/<code>): join with the code, then open the room.
import { h, replace } from '../dom.js';

export async function renderJoin(app, { roomId, code, view }) {
  try {
    await app.api.post('/api/join-chatroom', { chatroom_id: Number(roomId), invite_code: code });
    app.navigate(`/room/${roomId}`);
  } catch (error) {
    if (error.code === 'conflict') { // already a member
      app.navigate(`/room/${roomId}`);
      return;
    }
    replace(view,
      h('h1', {}, app.t('join.title')),
      h('p', { class: 'error-text', role: 'alert' }, error.code === 'not_found' || error.code === 'forbidden'
        ? app.t('join.invalid') : app.i18n.error(error)),
      h('p', {}, h('a', { href: '#/rooms' }, app.t('join.back'))));
    app.focusHeading(view);
  }
}
