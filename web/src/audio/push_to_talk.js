// Push-to-talk: while the button is held, the microphone is recorded as webm/opus in 250 ms
// slices and streamed to the server (`audio_stream` start, chunk with a binary attachment, stop).
// The microphone is opened per utterance and released after it, so the browser shows it in use
// only while the user talks. Each press is its own attempt with its own microphone, recorder and
// stream: a quick release-and-press never mixes two of them.

const kSliceMs = 250;
const kMimeType = 'audio/webm;codecs=opus';

export class PushToTalk {
  /**
   * `ready()`: resolves when the room's channel is joined (after a reconnection too).
   * `onError(error)`: a refusal or failure, in the server's {code, message} shape.
   * `onStateChange(state)`: 'starting', 'recording' or 'idle'.
   */
  constructor(realtime, { roomId, language, ready, onError, onStateChange }) {
    this.realtime = realtime;
    this.roomId = roomId;
    this.language = language;
    this.ready = ready ?? (() => Promise.resolve());
    this.onError = onError;
    this.onStateChange = onStateChange;
    this.attempt = null; // the current press, until it is released
    this.streams = new Map(); // stream id → attempt, until its last chunk went out
  }

  static supported() {
    return Boolean(navigator.mediaDevices?.getUserMedia) && typeof MediaRecorder !== 'undefined' &&
      MediaRecorder.isTypeSupported(kMimeType);
  }

  get active() { return this.attempt !== null; }

  async start() {
    if (this.attempt) return;
    const attempt = { released: false, failed: false, media: null, recorder: null, streamId: null, sending: Promise.resolve() };
    this.attempt = attempt;
    this.onStateChange?.('starting');
    try {
      attempt.media = await navigator.mediaDevices.getUserMedia({
        audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true },
      });
      if (attempt.released) return this.#finish(attempt);
      await this.ready();
      const streamId = `ptt-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
      const start = { action: 'start', stream_id: streamId, room: this.roomId, codec: 'webm-opus' };
      if (this.language) start.language = this.language;
      await this.realtime.request('audio_stream', start);
      attempt.streamId = streamId;
      this.streams.set(streamId, attempt);
      if (attempt.released) {
        await this.realtime.request('audio_stream', { action: 'stop', stream_id: streamId });
        return this.#finish(attempt);
      }
      const recorder = new MediaRecorder(attempt.media, { mimeType: kMimeType, audioBitsPerSecond: 32000 });
      attempt.recorder = recorder;
      recorder.addEventListener('dataavailable', (event) => {
        if (event.data.size > 0) this.#send(attempt, event.data);
      });
      recorder.addEventListener('stop', () => {
        attempt.sending = attempt.sending
          .then(() => (attempt.failed ? null : this.realtime.request('audio_stream', { action: 'stop', stream_id: streamId })))
          .catch((error) => this.#fail(attempt, error))
          .finally(() => this.#finish(attempt));
      });
      recorder.start(kSliceMs);
      this.onStateChange?.('recording');
    } catch (error) {
      this.#fail(attempt, error?.name === 'NotAllowedError' ? { code: 'microphone_denied', message: error.message }
        : error?.name === 'NotFoundError' ? { code: 'microphone_missing', message: error.message } : error);
      this.#finish(attempt);
    }
  }

  /** The user let go: what was recorded is sent and the stream closed. */
  stop() {
    const attempt = this.attempt;
    if (!attempt || attempt.released) return;
    attempt.released = true;
    this.attempt = null; // a new press may start while this one's last chunks go out
    if (attempt.recorder?.state === 'recording') attempt.recorder.stop(); // the 'stop' handler finishes
    this.onStateChange?.('idle');
  }

  /** The server closed the stream (audio_error): stop recording; nothing more is sent. */
  abort(streamId) {
    const attempt = this.streams.get(streamId);
    if (!attempt) return;
    attempt.failed = true;
    if (attempt === this.attempt) this.stop();
  }

  #send(attempt, blob) {
    attempt.sending = attempt.sending
      .then(async () => {
        if (attempt.failed) return;
        await this.realtime.request('audio_stream', { action: 'chunk', stream_id: attempt.streamId }, await blob.arrayBuffer());
      })
      .catch((error) => {
        this.#fail(attempt, error);
        this.stop();
      });
  }

  #fail(attempt, error) {
    if (attempt.failed) return; // the first reason is the real one
    attempt.failed = true;
    this.onError?.(error);
  }

  // Releases the attempt's microphone; the next press may begin.
  #finish(attempt) {
    attempt.media?.getTracks().forEach((track) => track.stop());
    attempt.media = null;
    if (attempt.streamId) this.streams.delete(attempt.streamId);
    if (this.attempt === attempt) {
      this.attempt = null;
      this.onStateChange?.('idle');
    }
  }
}
