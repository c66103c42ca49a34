#include "speech/recording.hpp"

#include "speech/audio/vad.hpp"
#include "speech/speech_streams.hpp"

namespace parley::speech {

Result<stt::Transcript> transcribe_recording(stt::SpeechRecognizer& engine, const audio::Pcm16& pcm,
                                             std::string_view language) {
  if (pcm.sample_rate != 16000) {
    return fail(Errc::internal, "recordings must be decoded to 16 kHz before recognition");
  }
  audio::UtteranceSegmenter segmenter;
  auto events = segmenter.push(pcm.samples);
  auto tail = segmenter.flush();
  events.insert(events.end(), std::make_move_iterator(tail.begin()),
                std::make_move_iterator(tail.end()));

  stt::Transcript result{"", std::string(language)};
  std::unique_ptr<stt::RecognitionStream> utterance;
  for (const auto& event : events) {
    if (event.kind == audio::SegmentEvent::Kind::started) {
      auto started = engine.start(language);
      if (!started) return started.error();
      utterance = std::move(*started);
    }
    if (!utterance) continue;
    if (!event.samples.empty()) {
      if (auto fed = utterance->accept(event.samples); !fed) return fed.error();
    }
    if (event.kind == audio::SegmentEvent::Kind::ended) {
      auto transcript = utterance->finish();
      utterance.reset();
      if (!transcript) return transcript.error();
      if (transcript->text.empty()) continue;
      if (!result.text.empty()) result.text += ' ';
      result.text += transcript->text;
      result.language = reported_language(language, transcript->language);
    }
  }
  return result;
}

}  // namespace parley::speech
