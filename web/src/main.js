// Boot and routing. Routes live in the location hash (#/rooms, #/room/12, #/join/12/CODE, ...)
// so that any static host can serve the page.
import { Api } from './api.js';
import { h, replace } from './dom.js';
import { I18n } from './i18n.js';
import { Realtime } from './realtime.js';
import { Session } from './session.js';
import { renderWelcome } from './views/welcome.js';
import { renderRooms } from './views/rooms.js';
import { renderRoom } from './views/room.js';
import { renderJoin } from './views/join.js';
import { renderSettings } from './views/settings.js';
import { renderPlan } from './views/plan.js';

const kReturnKey = 'parley.return-to';

const routes = [
  { pattern: /^\/welcome$/, view: renderWelcome, public: true },
  { pattern: /^\/rooms$/, view: renderRooms },
  { pattern: /^\/room\/(\d+)$/, view: renderRoom, params: ['roomId'] },
  { pattern: /^\/join\/(\d+)\/([A-Za-z0-9_-]+)$/, view: renderJoin, params: ['roomId', 'code'] },
  { pattern: /^\/settings$/, view: renderSettings },
  { pattern: /^\/plan$/, view: renderPlan },
];

class App {
  constructor() {
    this.server = document.querySelector('meta[name="parley-server"]')?.content.trim() ?? '';
    this.i18n = new I18n();
    this.session = new Session();
    this.api = new Api(this.server, this.session);
    this.realtime = new Realtime(this.server, this.session, this.api);
    this.config = null;
    this.main = document.getElementById('view');
    // Each render draws into its own container: a view still loading when the user moves on
    // keeps drawing into a detached one, never over the next screen.
    this.view = null;
    this.cleanup = null;
    this.renderCount = 0;
    this.pendingNotice = null;
  }

  t(key, params) { return this.i18n.t(key, params); }

  async start() {
    this.#setUpSkipLink();
    this.#setUpLocaleSwitch();
    this.#setUpConnectionBadge();
    this.session.onChange(() => {
      if (!this.session.signedIn) {
        this.realtime.disconnect();
        if (this.#route().path !== '/welcome') this.navigate('/welcome');
      }
      this.#renderNav();
    });
    window.addEventListener('hashchange', () => this.render());
    try {
      this.config = await this.api.get('/api/config');
    } catch (error) {
      this.config = { features: {} };
      this.pendingNotice = this.t('app.server_unreachable', { reason: this.i18n.error(error) });
    }
    await this.#takeGoogleResult();
    await this.render();
  }

  /** Shows a message in plain words at the top of the page (errors by default). */
  notify(text, kind = 'error') {
    const notice = document.getElementById('notice');
    if (!text) {
      notice.hidden = true;
      return;
    }
    notice.className = `notice${kind === 'info' ? ' info' : ''}`;
    notice.setAttribute('role', kind === 'info' ? 'status' : 'alert');
    replace(notice, text);
    notice.hidden = false;
  }

  navigate(path) {
    if (location.hash === `#${path}`) this.render();
    else location.hash = `#${path}`;
  }

  /** After signing in: back to where the user was going (an invite link), else the room list. */
  continueAfterSignIn() {
    const target = sessionStorage.getItem(kReturnKey);
    sessionStorage.removeItem(kReturnKey);
    this.navigate(target && target !== '/welcome' ? target : '/rooms');
  }

  async render() {
    const { path, query } = this.#route();
    const route = routes.find((r) => r.pattern.test(path));
    if (!route) {
      this.navigate(this.session.signedIn ? '/rooms' : '/welcome');
      return;
    }
    if (!route.public && !this.session.signedIn) {
      sessionStorage.setItem(kReturnKey, `${path}${query.toString() ? `?${query}` : ''}`);
      this.navigate('/welcome');
      return;
    }
    if (this.session.signedIn) this.realtime.connect();
    this.cleanup?.();
    this.cleanup = null;
    this.notify(this.pendingNotice ?? null);
    this.pendingNotice = null;
    this.#renderNav();
    const match = path.match(route.pattern);
    const params = Object.fromEntries((route.params ?? []).map((name, i) => [name, match[i + 1]]));
    const renderId = ++this.renderCount;
    const view = h('div', { class: 'view' }, h('p', { class: 'loading' }, this.t('app.loading')));
    this.view = view;
    replace(this.main, view);
    try {
      const cleanup = await route.view(this, { ...params, query, view });
      if (renderId !== this.renderCount) cleanup?.(); // the user moved on meanwhile
      else this.cleanup = cleanup ?? null;
    } catch (error) {
      if (renderId !== this.renderCount) return;
      replace(view, h('h1', {}, this.t('app.error_title')), h('p', { class: 'error-text' }, this.i18n.error(error)));
    }
  }

  /**
   * Moves focus to the new screen's heading, so screen readers announce it; unless the user has
   * already moved into the screen (typing in a room while its history still loads).
   */
  focusHeading(view = this.view) {
    if (view !== this.view) return;
    if (view.contains(document.activeElement)) return;
    const heading = view.querySelector('h1');
    if (heading) {
      heading.tabIndex = -1;
      heading.focus({ preventScroll: true });
    }
  }

  #route() {
    const raw = location.hash.replace(/^#/, '') || '/';
    const [path, search = ''] = raw.split('?');
    return { path, query: new URLSearchParams(search) };
  }

  #renderNav() {
    const nav = document.getElementById('nav');
    const current = this.#route().path;
    const link = (path, key) => h('a', { href: `#${path}`, 'aria-current': current === path ? 'page' : null }, this.t(key));
    if (!this.session.signedIn) {
      replace(nav, link('/welcome', 'nav.sign_in'));
      return;
    }
    const user = this.session.user;
    replace(nav,
      link('/rooms', 'nav.rooms'),
      link('/settings', 'nav.settings'),
      this.config?.features?.payments ? link('/plan', 'nav.plan') : null,
      h('span', { class: 'muted' }, user ? this.t('nav.signed_in_as', { name: user.username }) : ''),
      h('button', { type: 'button', class: 'link', onclick: () => this.signOut() }, this.t('nav.sign_out')));
  }

  async signOut() {
    try { await this.api.post('/api/logout'); } catch { /* signed out locally anyway */ }
    this.session.signOut();
  }

  // The skip link moves focus to the content without touching the hash (the router's).
  #setUpSkipLink() {
    document.querySelector('.skip-link').addEventListener('click', (event) => {
      event.preventDefault();
      this.main.focus();
    });
  }

  #setUpLocaleSwitch() {
    const select = document.getElementById('locale');
    const fill = () => {
      document.getElementById('locale-label').textContent = this.t('nav.interface_language');
      document.querySelector('.skip-link').textContent = this.t('app.skip_to_content');
      replace(select, this.i18n.available.map(({ tag, name }) =>
        h('option', { value: tag, lang: tag, selected: tag === this.i18n.locale }, name)));
    };
    fill();
    select.addEventListener('change', () => this.i18n.set(select.value));
    this.i18n.onChange(() => { fill(); this.render(); this.#setUpConnectionBadge(); });
  }

  #setUpConnectionBadge() {
    const badge = document.getElementById('connection');
    this.unwatchConnection?.();
    this.unwatchConnection = this.realtime.onState((state) => {
      badge.dataset.state = state;
      badge.textContent = this.session.signedIn ? this.t(`connection.${state}`) : '';
    });
  }

  // Google sign-in ends with a redirect to FRONTEND_URL/#access_token=...&refresh_token=... or
  // /#error=<code>. The fragment never reaches a server; take it and clear it from the address.
  async #takeGoogleResult() {
    const fragment = new URLSearchParams(location.hash.replace(/^#/, ''));
    if (fragment.has('access_token')) {
      history.replaceState(null, '', `${location.pathname}${location.search}#/rooms`);
      this.session.signIn({
        access_token: fragment.get('access_token'),
        refresh_token: fragment.get('refresh_token'),
        expires_in: fragment.get('expires_in'),
      });
      try {
        this.session.setUser((await this.api.get('/api/me')).user);
      } catch (error) {
        this.pendingNotice = this.i18n.error(error);
      }
    } else if (fragment.has('error')) {
      history.replaceState(null, '', `${location.pathname}${location.search}#/welcome`);
      const key = `google.${fragment.get('error')}`;
      this.pendingNotice = this.i18n.has(key) ? this.t(key) : this.t('google.failed');
    }
  }
}

new App().start();
