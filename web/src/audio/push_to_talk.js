// Push-to-talk: while the button is held, the microphone is recorded as webm/opus in 250 ms
// slices and streamed to the server (`audio_stream` start, chunk with a binary attachment, stop).
// The microphone is opened per utterance and released after it, so the browser shows it in use
// only while the user talks.

const kSliceMs = 250;
const kMimeType = 'audio/webm;codecs=opus';

export class PushToTalk {
  /** `onError(error)`: a refusal or failure, in the server's {code, message} shape. */
  constructor(realtime, { roomId, language, onError, onStateChange }) {
    this.realtime = realtime;
    this.roomId = roomId;
    this.language = language;
    this.onError = onError;
    this.onStateChange = onStateChange;
    this.recorder = null;
    this.media = null;
    this.streamId = null;
    this.sending = Promise.resolve(); // chunks go out in order, one after another
    this.active = false;
    this.failedStream = null;
  }

  static supported() {
    return Boolean(navigator.mediaDevices?.getUserMedia) && typeof MediaRecorder !== 'undefined' &&
      MediaRecorder.isTypeSupported(kMimeType);
  }

  async start() {
    if (this.active) return;
    this.active = true;
    this.onStateChange?.('starting');
    try {
      this.media = await navigator.mediaDevices.getUserMedia({
        audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true },
      });
      if (!this.active) { this.#release(); return; } // released before the microphone opened
      const streamId = `ptt-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
      const start = { action: 'start', stream_id: streamId, room: this.roomId, codec: 'webm-opus' };
      if (this.language) start.language = this.language;
      await this.realtime.request('audio_stream', start);
      this.streamId = streamId;
      const recorder = new MediaRecorder(this.media, { mimeType: kMimeType, audioBitsPerSecond: 32000 });
      this.recorder = recorder;
      recorder.addEventListener('dataavailable', (event) => {
        if (event.data.size > 0) this.#send(streamId, event.data);
      });
      recorder.addEventListener('stop', () => {
        this.sending = this.sending
          .then(() => this.failedStream === streamId ? null
            : this.realtime.request('audio_stream', { action: 'stop', stream_id: streamId }))
          .catch((error) => this.onError?.(error));
        this.#release();
      });
      recorder.start(kSliceMs);
      this.onStateChange?.('recording');
      if (!this.active) recorder.stop();
    } catch (error) {
      this.active = false;
      this.#release();
      this.onStateChange?.('idle');
      this.onError?.(error?.name === 'NotAllowedError' ? { code: 'microphone_denied', message: error.message }
        : error?.name === 'NotFoundError' ? { code: 'microphone_missing', message: error.message } : error);
    }
  }

  stop() {
    if (!this.active) return;
    this.active = false;
    if (this.recorder?.state === 'recording') this.recorder.stop();
    this.onStateChange?.('idle');
  }

  #send(streamId, blob) {
    this.sending = this.sending
      .then(async () => {
        if (this.failedStream === streamId) return; // the server closed it: the rest is moot
        await this.realtime.request('audio_stream', { action: 'chunk', stream_id: streamId }, await blob.arrayBuffer());
      })
      .catch((error) => {
        this.failedStream = streamId;
        this.onError?.(error);
        this.stop();
      });
  }

  #release() {
    this.media?.getTracks().forEach((track) => track.stop());
    this.media = null;
    this.recorder = null;
  }
}
