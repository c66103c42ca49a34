// A room: history with infinite scroll, live messages in the reader's language (original on
// demand), typing, presence, push-to-talk with live captions, synthesized speech, and the owner's
// and admins' controls.
import { h, replace, field } from '../dom.js';
import { actionButton, actionForm, avatar, confirmDialog, languageSelect } from '../forms.js';
import { PushToTalk } from '../audio/push_to_talk.js';

const kPageSize = 50;
const kTypingEveryMs = 3000;
const kTypingShownMs = 5000;

export async function renderRoom(app, { roomId: roomIdText, view }) {
  const roomId = Number(roomIdText);
  const me = app.session.user ?? (await app.api.get('/api/me')).user;
  let details;
  try {
    details = await app.api.get(`/api/chatrooms/${roomId}`);
  } catch (error) {
    // A private room shows nothing to non-members: offer its password form all the same.
    if (error.code !== 'forbidden') throw error;
    return renderJoinForm(app, view, { id: roomId, name: app.t('room.private_room'), is_private: true });
  }
  if (!details.role) return renderJoinForm(app, view, details.chatroom);

  const room = new RoomView(app, view, roomId, me, details);
  await room.open();
  return () => room.close();
}

function renderJoinForm(app, view, chatroom) {
  const t = (k, p) => app.t(k, p);
  const password = h('input', { type: 'password', name: 'password', id: 'join-password', autocomplete: 'off' });
  const form = actionForm(app, {
    label: t('room.join'), submitLabel: t('room.join'),
    onSubmit: async (data) => {
      const body = { chatroom_id: chatroom.id };
      if (data.get('password')) body.password = data.get('password');
      await app.api.post('/api/join-chatroom', body);
      app.render();
    },
  }, chatroom.is_private ? field(t('room.password'), password, t('room.private_hint')) : null);
  replace(view, h('h1', {}, chatroom.name), h('p', {}, t('room.not_member')), form);
  app.focusHeading(view);
}

class RoomView {
  constructor(app, view, roomId, me, details) {
    this.app = app;
    this.view = view;
    this.t = (k, p) => app.t(k, p);
    this.roomId = roomId;
    this.me = me;
    this.details = details;
    this.entries = new Map(); // message id → {message, element}
    this.online = new Map(); // user id → user
    this.typists = new Map(); // user id → {name, timer}
    this.nextBefore = undefined; // history cursor; null when the beginning was reached
    this.lastSeq = 0;
    this.language = me.preferred_language;
    this.unsubscribe = [];
    this.lastTypingSent = 0;
    this.closed = false;
    this.captions = new Map(); // stream id → caption element
    this.audio = new Audio();
    this.pendingSend = null; // {text, clientId}: a retry of the same text reuses its client_id
    this.#resetReady();
  }

  // Sends wait until the channel is joined (again, after a reconnection): the server refuses
  // events for a room this connection has not joined.
  #resetReady() {
    this.ready = new Promise((resolve) => { this.markReady = resolve; });
  }

  async open() {
    this.#build();
    this.#subscribe();
    const join = async (afterSeq) => {
      const payload = { room: this.roomId };
      if (afterSeq !== undefined) payload.after_seq = afterSeq;
      const ack = await this.app.realtime.request('join_room', payload);
      this.language = ack.language ?? this.language;
      this.languagePicker.value = this.language;
      this.voiceMode = ack.voice_mode ?? 'captions';
      this.voicePicker.value = this.voiceMode;
      this.online = new Map((ack.online ?? []).map((user) => [user.id, user]));
      for (const message of ack.missed ?? []) this.#upsert(message);
      this.#renderMembers();
      this.markReady();
    };
    // After a reconnection Socket.IO could not recover, the channel is joined again and what was
    // missed comes back with it. After any reconnection, translations still awaited are asked
    // for again (one delivered while away is not replayed).
    this.app.realtime.rejoiners.set(this.roomId, () => join(this.lastSeq)
      .then(() => this.#requestMissingTranslations())
      .catch((e) => this.#refused(e)));
    this.unsubscribe.push(this.app.realtime.on('disconnect', () => this.#resetReady()));
    this.unsubscribe.push(this.app.realtime.on('connect', () => {
      if (this.app.realtime.socket?.recovered) {
        this.markReady();
        this.#requestMissingTranslations();
      }
    }));
    await join();
    await this.#loadOlder();
    // Older pages load as the reader scrolls up, only once the newest page is in place.
    this.observer.observe(this.olderButton);
    this.#scrollToEnd();
    this.app.focusHeading(this.view);
  }

  close() {
    this.closed = true;
    this.ptt?.stop();
    for (const off of this.unsubscribe) off();
    for (const { timer } of this.typists.values()) clearTimeout(timer);
    this.observer?.disconnect();
    this.app.realtime.rejoiners.delete(this.roomId);
    this.app.realtime.socket?.emit('leave_room', { room: this.roomId });
    this.audio.pause();
  }

  get canManage() { return this.details.role === 'owner' || this.details.role === 'admin'; }

  // ---- layout ----------------------------------------------------------------------------------

  #build() {
    const t = this.t;
    this.title = h('h1', { id: 'room-title' }, this.details.chatroom.name);
    this.list = h('div', { class: 'messages', id: 'messages', role: 'log', 'aria-live': 'polite', 'aria-labelledby': 'room-title', tabindex: '0' });
    this.olderButton = h('button', { type: 'button', class: 'secondary', id: 'load-older' }, t('room.load_older'));
    this.olderButton.addEventListener('click', () => this.#loadOlder());
    this.list.append(this.olderButton);
    this.observer = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting) && this.nextBefore !== null && !this.loadingOlder) this.#loadOlder();
    }, { root: this.list });

    this.liveCaptions = h('div', { class: 'live-captions', id: 'live-captions', 'aria-live': 'polite' });
    this.typingLine = h('div', { class: 'typing', id: 'typing', 'aria-live': 'polite' });
    this.input = h('textarea', { id: 'message-input', rows: 2, maxlength: 4000, placeholder: t('room.write') });
    this.input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.#send();
      }
    });
    this.input.addEventListener('input', () => {
      if (Date.now() - this.lastTypingSent > kTypingEveryMs && this.input.value) {
        this.lastTypingSent = Date.now();
        this.app.realtime.volatile('typing', { room: this.roomId });
      }
    });
    this.sendButton = h('button', { type: 'button', id: 'send' }, t('room.send'));
    this.sendButton.addEventListener('click', () => this.#send());
    this.composerError = h('p', { class: 'error-text', role: 'alert', hidden: true });
    this.pttButton = this.#pushToTalkButton();

    this.languagePicker = languageSelect(this.app, this.language, { id: 'read-in' });
    this.languagePicker.addEventListener('change', async () => {
      try {
        const ack = await this.app.realtime.request('set_language', { room: this.roomId, language: this.languagePicker.value });
        this.language = ack.language;
        for (const entry of this.entries.values()) this.#renderMessage(entry);
        this.#requestMissingTranslations();
      } catch (error) {
        this.app.notify(this.app.i18n.error(error));
      }
    });

    // How this member hears the room: the server keeps the choice with the membership and sends
    // tts_audio (synthetic) or original_audio accordingly.
    this.voicePicker = h('select', { id: 'hear-as' }, ['captions', 'neutral', 'cloned', 'original'].map((mode) =>
      h('option', { value: mode }, t(`room.mode_${mode}`))));
    this.voicePicker.addEventListener('change', async () => {
      const wanted = this.voicePicker.value;
      try {
        const ack = await this.app.realtime.request('set_voice_mode', { room: this.roomId, mode: wanted });
        this.voiceMode = ack.mode;
      } catch (error) {
        this.voicePicker.value = this.voiceMode;
        this.app.notify(this.app.i18n.error(error));
      }
    });
    this.voiceStatus = h('p', { class: 'muted', id: 'voice-status', role: 'status' });

    this.members = h('ul', { class: 'plain members', id: 'members' });
    this.manage = h('div', { id: 'manage' });
    this.roleLine = h('p', { class: 'muted', id: 'my-role' });
    replace(this.view,
      h('div', { class: 'room-header' }, this.title, h('div', { class: 'row' },
        field(t('room.read_in'), this.languagePicker), field(t('room.hear_as'), this.voicePicker))),
      this.voiceStatus,
      this.roleLine,
      h('div', { class: 'room' },
        h('section', { 'aria-label': t('room.conversation') },
          this.list, this.liveCaptions, this.typingLine,
          h('label', { for: 'message-input', class: 'visually-hidden' }, t('room.message_label')),
          h('div', { class: 'composer' }, this.input, this.sendButton, this.pttButton),
          h('p', { class: 'muted', id: 'push-to-talk-hint' }, t('room.hold_to_talk_hint')),
          this.composerError),
        h('aside', { 'aria-labelledby': 'members-title' },
          this.#searchPanel(),
          this.#transcriptPanel(),
          h('h2', { id: 'members-title' }, t('room.members_title')), this.members, this.manage)));
    this.#renderMembers();
    this.#renderManagement();
  }

  // Search in the room's history: originals and stored translations (the server ranks them).
  #searchPanel() {
    const t = this.t;
    const results = h('ol', { class: 'plain search-results', id: 'search-results', 'aria-live': 'polite' });
    const form = actionForm(this.app, {
      label: t('room.search_title'), submitLabel: t('room.search_button'), className: 'row',
      onSubmit: async (data) => {
        const q = String(data.get('q')).trim();
        const page = await this.app.api.get(`/api/chatrooms/${this.roomId}/search?q=${encodeURIComponent(q)}&limit=20`);
        replace(results, page.results.length === 0 ? h('li', { class: 'muted' }, t('room.search_none')) : page.results.map(({ message, matched }) =>
          h('li', { class: 'message', lang: message.language || null },
            h('div', { class: 'meta' }, h('strong', {}, message.sender?.username ?? t('room.deleted_user')),
              h('time', { datetime: message.created_at }, this.app.i18n.formatTime(message.created_at))),
            h('p', { class: 'text' }, message.text),
            matched.original ? null : h('p', { class: 'muted' }, t('room.search_matched', {
              languages: matched.languages.map((tag) => this.app.i18n.languageName(tag)).join(', ') })))));
      },
    }, h('label', { for: 'history-search', class: 'visually-hidden' }, t('room.search_title')),
    h('input', { type: 'search', name: 'q', id: 'history-search', required: true, maxlength: 200, placeholder: t('room.search_title') }));
    return h('section', { 'aria-labelledby': 'search-title' }, h('h2', { id: 'search-title' }, t('room.search_title')), form, results);
  }

  // The room's record as a file: bilingual captions or text in the language the reader reads in.
  #transcriptPanel() {
    const t = this.t;
    const format = h('select', { name: 'format', id: 'transcript-format' },
      h('option', { value: 'vtt' }, t('room.transcript_vtt')),
      h('option', { value: 'srt' }, t('room.transcript_srt')),
      h('option', { value: 'txt' }, t('room.transcript_txt')));
    const form = actionForm(this.app, {
      label: t('room.transcript_title'), submitLabel: t('room.transcript_download'), className: 'row',
      onSubmit: async (data) => {
        const kind = String(data.get('format'));
        const lang = this.language ? `&lang=${encodeURIComponent(this.language)}` : '';
        const file = await this.app.api.blob('GET', `/api/chatrooms/${this.roomId}/transcript?format=${kind}${lang}`);
        const link = h('a', { href: URL.createObjectURL(file), download: `room-${this.roomId}-transcript${this.language ? `-${this.language.split('-')[0].toLowerCase()}` : ''}.${kind}`, hidden: true });
        document.body.append(link);
        link.click();
        link.remove();
        setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
      },
    }, h('label', { for: 'transcript-format', class: 'visually-hidden' }, t('room.transcript_format')), format);
    return h('section', { 'aria-labelledby': 'transcript-title' },
      h('h2', { id: 'transcript-title' }, t('room.transcript_title')),
      h('p', { class: 'muted' }, t('room.transcript_hint')), form);
  }

  #pushToTalkButton() {
    const t = this.t;
    const button = h('button', { type: 'button', class: 'ptt', id: 'push-to-talk', 'aria-pressed': 'false', 'aria-describedby': 'push-to-talk-hint' }, t('room.hold_to_talk'));
    if (!PushToTalk.supported()) {
      button.disabled = true;
      button.title = t('room.no_microphone');
      return button;
    }
    let toggled = false; // started by the keyboard or a screen reader: a second press stops
    this.ptt = new PushToTalk(this.app.realtime, {
      roomId: this.roomId,
      language: this.me.preferred_language,
      ready: () => this.ready,
      onError: (error) => this.#showComposerError(error),
      onStateChange: (state) => {
        if (state === 'idle') toggled = false;
        button.setAttribute('aria-pressed', String(state !== 'idle'));
        button.textContent = state === 'idle' ? t('room.hold_to_talk') : toggled ? t('room.stop_and_send') : t('room.release_to_send');
      },
    });
    const start = () => { this.composerError.hidden = true; this.ptt.start(); };
    // Mouse, pen and finger: press and hold.
    button.addEventListener('pointerdown', (event) => {
      if (event.button !== 0) return;
      event.preventDefault();
      button.setPointerCapture?.(event.pointerId);
      start();
    });
    button.addEventListener('pointerup', () => { if (!toggled) this.ptt.stop(); });
    button.addEventListener('pointercancel', () => { if (!toggled) this.ptt.stop(); });
    // Keyboard and assistive technology send a click without a pointer press (detail 0).
    button.addEventListener('click', (event) => {
      if (event.detail !== 0) return;
      if (this.ptt.active) {
        this.ptt.stop();
      } else {
        toggled = true;
        start();
      }
    });
    return button;
  }

  // ---- live events -------------------------------------------------------------------------------

  #subscribe() {
    // Events name their room in `room`; room_updated is the chatroom itself.
    const on = (event, handler, roomOf = (payload) => payload?.room) =>
      this.unsubscribe.push(this.app.realtime.on(event, (payload) => {
        if (!this.closed && Number(roomOf(payload)) === this.roomId) handler(payload);
      }));
    on('new_message', (message) => {
      const atEnd = this.#nearEnd();
      this.#upsert(message);
      this.#clearTyping(message.sender?.id);
      if (atEnd || message.sender?.id === this.me.id) this.#scrollToEnd();
    });
    // A member corrected a message's language: its text may be new (speech heard again) and its
    // old translation is void; a fresh translation_result follows where one is pending.
    on('message_updated', (message) => {
      const entry = this.entries.get(message.id);
      if (!entry) return;
      entry.message = message;
      entry.awaiting = Boolean(message.translation_pending);
      entry.fixing = false;
      this.#renderMessage(entry);
    });
    // Audio the chosen voice mode brings: played one after another, and said in the status line
    // (synthesized speech is labelled as such).
    const hear = (payload, kind) => {
      const entry = this.entries.get(payload.message_id);
      const name = entry?.message.sender?.username ?? this.t('room.deleted_user');
      replace(this.voiceStatus, this.t(kind === 'original' ? 'room.voice_original' : 'room.voice_synthetic', { name }));
      this.#enqueueAudio(new Blob([payload.audio], { type: payload.mime_type }));
    };
    on('tts_audio', (payload) => hear(payload, 'synthetic'));
    on('original_audio', (payload) => hear(payload, 'original'));
    on('translation_result', (result) => {
      const entry = this.entries.get(result.message_id);
      if (!entry) return;
      entry.awaiting = false;
      if (result.error) entry.message = { ...entry.message, translation_error: { language: result.language, ...result.error } };
      else entry.message = { ...entry.message, translation: result, translation_error: undefined };
      this.#renderMessage(entry);
    });
    on('user_joined', ({ user }) => {
      this.online.set(user.id, user);
      if (!this.details.members.some((m) => m.user_id === user.id)) this.#reloadDetails();
      else this.#renderMembers();
    });
    on('user_left', ({ user }) => {
      this.online.delete(user.id);
      this.#renderMembers();
    });
    on('typing', ({ user }) => {
      if (!user || user.id === this.me.id) return;
      clearTimeout(this.typists.get(user.id)?.timer);
      this.typists.set(user.id, { name: user.username, timer: setTimeout(() => this.#clearTyping(user.id), kTypingShownMs) });
      this.#renderTyping();
    });
    on('room_updated', (chatroom) => {
      this.details.chatroom = chatroom;
      this.title.textContent = chatroom.name;
    }, (chatroom) => chatroom?.id);
    on('room_error', async ({ error }) => {
      // Removal (kick, ban: forbidden; deletion: not_found) ends the room for this user; but a
      // refusal during a reconnection also says forbidden, so ask the server which it was.
      if (error?.code === 'forbidden' || error?.code === 'not_found') {
        const stillMember = await this.app.api.get(`/api/chatrooms/${this.roomId}`)
          .then((details) => Boolean(details.role), () => false);
        if (this.closed) return;
        if (stillMember) {
          this.app.realtime.rejoiners.get(this.roomId)?.();
          return;
        }
        this.app.pendingNotice = this.t('room.removed');
        this.app.navigate('/rooms');
      } else {
        this.app.notify(this.app.i18n.error(error));
      }
    });
    on('audio_transcription', (caption) => this.#caption(caption));
    on('audio_error', ({ stream_id: streamId, error }) => {
      this.ptt?.abort(streamId);
      this.#showComposerError(error);
    });
    on('audio_stream_closed', ({ stream_id: streamId }) => this.#removeCaption(streamId));
  }

  #caption(caption) {
    let line = this.captions.get(caption.stream_id);
    if (caption.is_final) {
      // The final comes back as a stored message (new_message); the live line has done its job.
      this.#removeCaption(caption.stream_id);
      return;
    }
    if (!line) {
      line = h('p', { class: 'caption', dataset: { stream: caption.stream_id } });
      this.captions.set(caption.stream_id, line);
      this.liveCaptions.append(line);
    }
    replace(line, h('strong', {}, caption.speaker?.username ?? ''), ': ', caption.text, ' …');
  }

  #removeCaption(streamId) {
    this.captions.get(streamId)?.remove();
    this.captions.delete(streamId);
  }

  #clearTyping(userId) {
    if (!this.typists.has(userId)) return;
    clearTimeout(this.typists.get(userId).timer);
    this.typists.delete(userId);
    this.#renderTyping();
  }

  #renderTyping() {
    const names = [...this.typists.values()].map((typist) => typist.name);
    this.typingLine.textContent = names.length === 0 ? ''
      : names.length === 1 ? this.t('room.typing_one', { name: names[0] }) : this.t('room.typing_many', { names: names.join(', ') });
  }

  // ---- messages ----------------------------------------------------------------------------------

  async #send() {
    const text = this.input.value.trim();
    if (!text) return;
    this.sendButton.disabled = true;
    this.composerError.hidden = true;
    // The same text sent again (after a timeout) keeps its client_id: the server stores it once.
    if (this.pendingSend?.text !== text) {
      this.pendingSend = { text, clientId: `c-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}` };
    }
    const { clientId } = this.pendingSend;
    try {
      await this.ready;
      await this.app.realtime.request('send_message', { room: this.roomId, text, client_id: clientId, language: this.me.preferred_language });
      this.pendingSend = null;
      this.input.value = '';
    } catch (error) {
      this.#showComposerError(error); // the text stays in the box: nothing typed is lost
    } finally {
      this.sendButton.disabled = false;
      this.input.focus();
    }
  }

  #showComposerError(error) {
    replace(this.composerError, this.app.i18n.error(error));
    this.composerError.hidden = false;
  }

  async #loadOlder() {
    if (this.nextBefore === null || this.loadingOlder) return;
    this.loadingOlder = true;
    this.olderButton.disabled = true;
    const heightBefore = this.list.scrollHeight;
    const topBefore = this.list.scrollTop;
    try {
      const body = { chatroom_id: this.roomId, limit: kPageSize };
      if (this.nextBefore) body.before = this.nextBefore;
      const page = await this.app.api.post('/api/get-chatroom-messages', body);
      for (const message of page.messages) this.#upsert(message);
      this.nextBefore = page.next_before ?? null;
      // Keep what the reader was looking at in place while older messages appear above it.
      this.list.scrollTop = topBefore + (this.list.scrollHeight - heightBefore);
    } catch (error) {
      this.app.notify(this.app.i18n.error(error));
    } finally {
      this.loadingOlder = false;
      this.olderButton.disabled = this.nextBefore === null;
      this.olderButton.textContent = this.nextBefore === null ? this.t('room.beginning') : this.t('room.load_older');
    }
  }

  /** Adds a message in id order, or updates it (a live copy and a history copy are one message). */
  #upsert(message) {
    if (message.seq) this.lastSeq = Math.max(this.lastSeq, message.seq);
    const known = this.entries.get(message.id);
    if (known) {
      // Keep a translation one copy has and the other lacks.
      known.message = { ...message, translation: message.translation ?? known.message.translation };
      this.#renderMessage(known);
      return;
    }
    const entry = { message, element: h('article', { class: 'message', dataset: { id: message.id } }), showOriginal: false, awaiting: Boolean(message.translation_pending) };
    this.entries.set(message.id, entry);
    this.#renderMessage(entry);
    const later = [...this.list.querySelectorAll('article.message')].find((el) => Number(el.dataset.id) > message.id);
    this.list.insertBefore(entry.element, later ?? null);
  }

  #renderMessage(entry) {
    const { message } = entry;
    const t = this.t;
    const translation = message.translation && message.translation.language === this.language &&
      message.translation.language !== message.language ? message.translation : null;
    const shownText = translation ? translation.text : message.text;
    const shownLanguage = translation ? translation.language : message.language;
    const mine = message.sender?.id === this.me.id;
    entry.element.className = `message${mine ? ' mine' : ''}`;
    entry.element.setAttribute('lang', shownLanguage || '');

    const notes = [];
    if (!translation && entry.awaiting && message.language !== this.language) notes.push(h('span', { class: 'muted translating' }, t('room.translating')));
    if (message.translation_error) notes.push(h('span', { class: 'muted' }, t('room.no_translation', { language: this.app.i18n.languageName(message.translation_error.language) })));
    if (message.kind === 'speech' || message.kind === 'audio') notes.push(h('span', { class: 'muted' }, t('room.spoken')));
    if (message.corrected) {
      notes.push(h('span', { class: 'muted corrected' }, t('room.corrected', {
        language: this.app.i18n.languageName(message.language),
        name: message.corrected.by?.username ?? t('room.deleted_user'),
      })));
    }

    const actions = h('div', { class: 'actions' });
    if (translation) {
      const toggle = h('button', { type: 'button', class: 'link', 'aria-expanded': String(entry.showOriginal) },
        entry.showOriginal ? t('room.hide_original') : t('room.show_original', { language: this.app.i18n.languageName(message.language) }));
      toggle.addEventListener('click', () => { entry.showOriginal = !entry.showOriginal; this.#renderMessage(entry); });
      actions.append(toggle);
    }
    if (shownText) actions.append(this.#listenButton(shownText, shownLanguage));
    if (message.audio_url) actions.append(this.#recordingButton(message.audio_url));
    if (message.kind !== 'system') actions.append(this.#wrongLanguageButton(entry));

    replace(entry.element,
      h('div', { class: 'meta' }, avatar(message.sender), h('strong', {}, message.sender?.username ?? t('room.deleted_user')),
        h('time', { datetime: message.created_at }, this.app.i18n.formatTime(message.created_at)),
        translation ? h('span', {}, t('room.translated_from', { language: this.app.i18n.languageName(message.language) })) : null),
      h('p', { class: 'text', lang: shownLanguage || null }, shownText),
      translation && entry.showOriginal ? h('p', { class: 'text original', lang: message.language }, message.text) : null,
      notes.length ? h('div', { class: 'row' }, notes) : null,
      actions,
      entry.fixing ? this.#languageFix(entry) : null);
  }

  #wrongLanguageButton(entry) {
    const button = h('button', { type: 'button', class: 'link', 'aria-expanded': String(Boolean(entry.fixing)) }, this.t('room.wrong_language'));
    button.addEventListener('click', () => { entry.fixing = !entry.fixing; this.#renderMessage(entry); });
    return button;
  }

  // "This message is in …": the server re-translates (or re-hears a recording) and the room
  // gets message_updated, which closes this form.
  #languageFix(entry) {
    const { message } = entry;
    const choice = message.language === this.language ? null : this.language;
    return actionForm(this.app, {
      label: this.t('room.wrong_language'), submitLabel: this.t('room.fix_language'), className: 'row language-fix',
      onSubmit: async (data) => {
        await this.app.realtime.request('mark_language', { message_id: message.id, language: data.get('language') });
        entry.fixing = false;
        this.#renderMessage(entry);
      },
    }, field(this.t('room.it_is_in'), languageSelect(this.app, choice, { name: 'language', id: `fix-language-${message.id}` })));
  }

  // Messages in another language without a translation into the reader's: ask for one each
  // (the newest first; at most a page's worth). Results come as translation_result.
  #requestMissingTranslations() {
    const missing = [...this.entries.values()]
      .filter(({ message }) => message.language && message.language !== this.language && message.kind !== 'system' &&
        message.translation?.language !== this.language)
      .sort((a, b) => b.message.id - a.message.id)
      .slice(0, kPageSize);
    for (const entry of missing) {
      entry.awaiting = true;
      this.#renderMessage(entry);
      this.app.realtime.request('request_translation', { message_id: entry.message.id, target_language: this.language })
        .catch(() => { entry.awaiting = false; if (!this.closed) this.#renderMessage(entry); });
    }
  }

  #listenButton(text, language) {
    return actionButton(this.app, this.t('room.listen'), async () => {
      const blob = await this.app.api.blob('POST', '/api/tts', { text, language, format: 'ogg' }, 'audio/ogg');
      this.#play(blob);
    }, { class: 'link listen' });
  }

  #recordingButton(audioUrl) {
    return actionButton(this.app, this.t('room.play_recording'), async () => {
      const path = new URL(audioUrl, location.href).pathname;
      this.#play(await this.app.api.blob('GET', path));
    }, { class: 'link recording' });
  }

  #enqueueAudio(blob) {
    this.audioQueue = this.audioQueue ?? [];
    this.audioQueue.push(blob);
    if (this.audioQueue.length === 1) this.#playQueued();
  }

  #playQueued() {
    const blob = this.audioQueue?.[0];
    if (!blob || this.closed) return;
    const player = new Audio(URL.createObjectURL(blob));
    const next = () => {
      URL.revokeObjectURL(player.src);
      this.audioQueue.shift();
      this.#playQueued();
    };
    player.addEventListener('ended', next, { once: true });
    player.play().catch(next);  // a browser that may not play yet skips it; the text is there
  }

  #play(blob) {
    if (this.audio.src) URL.revokeObjectURL(this.audio.src);
    this.audio.src = URL.createObjectURL(blob);
    this.audio.play().catch((error) => this.app.notify(`${this.t('room.cannot_play')} ${error.message}`));
  }

  #nearEnd() { return this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 80; }
  #scrollToEnd() { this.list.scrollTop = this.list.scrollHeight; }

  #refused(error) {
    if (!this.closed) this.app.notify(this.app.i18n.error(error));
  }

  // ---- members and management ------------------------------------------------------------------

  async #reloadDetails() {
    try {
      this.details = await this.app.api.get(`/api/chatrooms/${this.roomId}`);
      if (!this.details.role) {
        this.app.navigate('/rooms');
        return;
      }
      this.title.textContent = this.details.chatroom.name;
      this.#renderMembers();
      this.#renderManagement();
    } catch (error) {
      this.#refused(error);
    }
  }

  #renderMembers() {
    const t = this.t;
    this.roleLine.textContent = t('room.your_role', { role: t(`role.${this.details.role}`) }) +
      (this.details.chatroom.is_private ? ` · ${t('rooms.private')}` : ` · ${t('rooms.public')}`);
    const members = [...this.details.members].sort((a, b) =>
      Number(this.online.has(b.user_id)) - Number(this.online.has(a.user_id)) || a.username.localeCompare(b.username));
    replace(this.members, members.map((member) => {
      const isOnline = this.online.has(member.user_id);
      return h('li', { dataset: { userId: member.user_id } },
        h('span', { class: `presence${isOnline ? ' online' : ''}`, 'aria-hidden': 'true' }),
        avatar({ username: member.username, avatar_url: member.avatar_url }),
        h('span', {}, member.username, member.user_id === this.me.id ? ` (${t('room.you')})` : ''),
        h('span', { class: 'muted' }, `${t(`role.${member.role}`)} · ${isOnline ? t('room.online') : t('room.offline')}`),
        this.#memberActions(member));
    }));
  }

  #memberActions(member) {
    const role = this.details.role;
    if (member.user_id === this.me.id || !this.canManage || member.role === 'owner') return null;
    if (role === 'admin' && member.role === 'admin') return null;
    const act = (action, key, className = 'secondary', confirmKey = null) =>
      actionButton(this.app, this.t(key), async () => {
        if (confirmKey && !(await confirmDialog(this.app, this.t(confirmKey, { name: member.username }), this.t(key)))) return;
        await this.app.api.post(`/api/chatrooms/${this.roomId}/${action}`, { user_id: member.user_id });
        await this.#reloadDetails();
      }, { class: className, 'aria-label': `${this.t(key)}: ${member.username}` });
    return h('div', { class: 'member-actions' },
      act('kick', 'room.kick', 'secondary', 'room.confirm_kick'),
      act('ban', 'room.ban', 'danger', 'room.confirm_ban'),
      role === 'owner' ? (member.role === 'admin' ? act('demote', 'room.demote') : act('promote', 'room.promote')) : null,
      role === 'owner' ? act('transfer-ownership', 'room.transfer', 'secondary', 'room.confirm_transfer') : null);
  }

  #renderManagement() {
    const t = this.t;
    const parts = [];
    const leave = actionButton(this.app, t('room.leave'), async () => {
      if (!(await confirmDialog(this.app, t('room.confirm_leave'), t('room.leave')))) return;
      await this.app.api.post('/api/leave-chatroom', { chatroom_id: this.roomId });
      this.app.navigate('/rooms');
    }, { class: 'secondary', id: 'leave-room' });
    if (this.canManage) {
      const linkBox = h('input', { class: 'invite-link', id: 'invite-link', readonly: true, hidden: !this.inviteLink, value: this.inviteLink ?? '', 'aria-label': t('room.invite_link') });
      const copy = h('button', { type: 'button', class: 'secondary', hidden: !this.inviteLink }, t('room.copy'));
      copy.addEventListener('click', async () => {
        linkBox.select();
        try { await navigator.clipboard.writeText(linkBox.value); copy.textContent = t('room.copied'); } catch { /* selected for copying by hand */ }
      });
      const invite = actionButton(this.app, t('room.create_invite'), async () => {
        const created = await this.app.api.post(`/api/chatrooms/${this.roomId}/invites`, {});
        const base = `${location.origin}${location.pathname}`;
        this.inviteLink = `${base}#/join/${this.roomId}/${created.code}`;
        linkBox.value = this.inviteLink;
        linkBox.hidden = false;
        copy.hidden = false;
        copy.textContent = t('room.copy');
        linkBox.focus();
        linkBox.select();
      }, { id: 'create-invite' });
      parts.push(h('h2', {}, t('room.invite_title')), h('p', { class: 'muted' }, t('room.invite_hint')), invite, linkBox, copy);

      const rename = actionForm(this.app, {
        label: t('room.rename'), submitLabel: t('room.rename'),
        onSubmit: async (data) => {
          const { chatroom } = await this.app.api.post(`/api/chatrooms/${this.roomId}/rename`, { name: data.get('name').trim() });
          this.details.chatroom = chatroom;
          this.title.textContent = chatroom.name;
        },
      }, field(t('rooms.name'), h('input', { name: 'name', id: 'rename-room', required: true, maxlength: 100, value: this.details.chatroom.name })));
      parts.push(h('h2', {}, t('room.settings_title')), rename);

      const banned = this.details.banned ?? [];
      if (banned.length) {
        parts.push(h('h2', {}, t('room.banned_title')), h('ul', { class: 'plain members' }, banned.map((user) =>
          h('li', {}, h('span', {}, user.username), actionButton(this.app, t('room.unban'), async () => {
            await this.app.api.post(`/api/chatrooms/${this.roomId}/unban`, { user_id: user.user_id });
            await this.#reloadDetails();
          }, { class: 'secondary', 'aria-label': `${t('room.unban')}: ${user.username}` })))));
      }
    }
    parts.push(h('div', { class: 'row' }, this.details.role !== 'owner' ? leave : null,
      this.details.role === 'owner' ? actionButton(this.app, t('room.delete'), async () => {
        if (!(await confirmDialog(this.app, t('room.confirm_delete', { name: this.details.chatroom.name }), t('room.delete')))) return;
        await this.app.api.delete(`/api/chatrooms/${this.roomId}`);
        this.app.navigate('/rooms');
      }, { class: 'danger', id: 'delete-room' }) : null));
    replace(this.manage, parts);
  }
}
