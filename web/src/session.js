// The signed-in user's tokens and profile, kept in localStorage so that a reload or a second tab
// stays signed in. Listeners hear every change (sign-in, refresh, sign-out).
const kStorageKey = 'parley.session';

export class Session {
  constructor(storage = window.localStorage) {
    this.storage = storage;
    this.listeners = new Set();
    this.state = null;
    try {
      this.state = JSON.parse(storage.getItem(kStorageKey) ?? 'null');
    } catch {
      this.state = null;
    }
    // Another tab signed in or out: follow it.
    window.addEventListener('storage', (event) => {
      if (event.key !== kStorageKey) return;
      try { this.state = JSON.parse(event.newValue ?? 'null'); } catch { this.state = null; }
      this.#emit();
    });
  }

  get signedIn() { return Boolean(this.state?.access_token); }
  get accessToken() { return this.state?.access_token ?? null; }
  get refreshToken() { return this.state?.refresh_token ?? null; }
  get user() { return this.state?.user ?? null; }

  /** Takes a token reply ({access_token, refresh_token, expires_in, user?}). */
  signIn(tokens) {
    this.state = {
      access_token: tokens.access_token,
      refresh_token: tokens.refresh_token ?? this.state?.refresh_token ?? null,
      expires_at: Date.now() + Number(tokens.expires_in ?? 0) * 1000,
      user: tokens.user ?? this.state?.user ?? null,
    };
    this.#save();
  }

  setUser(user) {
    if (!this.state) return;
    this.state = { ...this.state, user };
    this.#save();
  }

  signOut() {
    this.state = null;
    this.storage.removeItem(kStorageKey);
    this.#emit();
  }

  /** Whether the access token expires within `marginMs`. */
  expiresSoon(marginMs = 30_000) {
    return !this.state?.expires_at || this.state.expires_at - Date.now() < marginMs;
  }

  onChange(listener) { this.listeners.add(listener); }

  #save() {
    this.storage.setItem(kStorageKey, JSON.stringify(this.state));
    this.#emit();
  }

  #emit() {
    for (const listener of this.listeners) listener(this.state);
  }
}
