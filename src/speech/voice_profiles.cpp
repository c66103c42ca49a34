#include "speech/voice_profiles.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "auth/user.hpp"

namespace parley::speech {

namespace json = boost::json;

namespace {

constexpr const char* kColumns =
    "user_id, reference_path, mode, provider, provider_voice_id, profile, consented_at, "
    "created_at";

std::string_view gender_name(tts::VoiceProfile::Gender gender) {
  switch (gender) {
    case tts::VoiceProfile::Gender::female:
      return "female";
    case tts::VoiceProfile::Gender::male:
      return "male";
    case tts::VoiceProfile::Gender::unknown:
      break;
  }
  return "unknown";
}

json::object profile_json(const tts::VoiceProfile& p) {
  return {{"pitch_hz", p.pitch_hz},
          {"speaking_rate_wpm", p.speaking_rate_wpm},
          {"gender", gender_name(p.gender)},
          {"espeak_variant", p.espeak_variant}};
}

tts::VoiceProfile profile_from(const json::value& value) {
  tts::VoiceProfile p;
  if (!value.is_object()) return p;
  const auto& o = value.as_object();
  const auto number = [&](std::string_view key) {
    const auto* v = o.if_contains(key);
    if (v == nullptr) return 0.0;
    if (v->is_double()) return v->as_double();
    if (v->is_int64()) return static_cast<double>(v->as_int64());
    return 0.0;
  };
  p.pitch_hz = number("pitch_hz");
  p.speaking_rate_wpm = number("speaking_rate_wpm");
  if (const auto* g = o.if_contains("gender"); g && g->is_string()) {
    if (g->as_string() == "female") p.gender = tts::VoiceProfile::Gender::female;
    if (g->as_string() == "male") p.gender = tts::VoiceProfile::Gender::male;
  }
  if (const auto* v = o.if_contains("espeak_variant"); v && v->is_string()) {
    p.espeak_variant = std::string(v->as_string());
  }
  return p;
}

Result<StoredVoice> voice_from_row(const store::Row& row) {
  StoredVoice v;
  auto user_id = row.get<std::int64_t>("user_id");
  auto reference = row.get<std::string>("reference_path");
  auto mode = row.get<std::string>("mode");
  auto provider = row.get<std::string>("provider");
  auto provider_voice = row.get<std::optional<std::string>>("provider_voice_id");
  auto profile = row.get<std::string>("profile");
  auto consented = row.get<std::int64_t>("consented_at");
  auto created = row.get<std::int64_t>("created_at");
  if (!user_id || !reference || !mode || !provider || !provider_voice || !profile || !consented ||
      !created) {
    return fail(Errc::internal, "a stored voice profile cannot be read");
  }
  v.user_id = *user_id;
  v.reference_file = *reference;
  v.mode = *mode == "clone" ? VoiceMode::clone : VoiceMode::approximate;
  v.provider = *provider;
  v.provider_voice_id = *provider_voice;
  boost::system::error_code ec;
  v.profile = profile_from(json::parse(*profile, ec));
  v.consented_at = *consented;
  v.created_at = *created;
  return v;
}

Result<std::optional<StoredVoice>> load(store::Connection& connection, std::int64_t user_id) {
  auto rows = connection.query(
      std::string("SELECT ") + kColumns + " FROM voice_profiles WHERE user_id = $1", {user_id});
  if (!rows) return rows.error();
  if (rows->empty()) return std::optional<StoredVoice>();
  auto voice = voice_from_row((*rows)[0]);
  if (!voice) return voice.error();
  return std::optional<StoredVoice>(std::move(*voice));
}

}  // namespace

json::object to_json(const StoredVoice& voice) {
  json::object out{{"mode", voice.mode == VoiceMode::clone ? "clone" : "approximate"},
                   {"provider", voice.provider},
                   {"profile", profile_json(voice.profile)},
                   {"consented_at", auth::iso8601(voice.consented_at)},
                   {"created_at", auth::iso8601(voice.created_at)}};
  if (voice.provider_voice_id) out["voice_id"] = *voice.provider_voice_id;
  return out;
}

Result<std::optional<StoredVoice>> VoiceProfileStore::find(std::int64_t user_id) {
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  return load(**lease, user_id);
}

Result<std::optional<StoredVoice>> VoiceProfileStore::put(StoredVoice voice) {
  voice.created_at = clock_.now_ms();
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto tx = store::Transaction::begin(**lease);
  if (!tx) return tx.error();
  auto previous = load(**lease, voice.user_id);
  if (!previous) return previous.error();
  auto written = (*lease)->query(
      "INSERT INTO voice_profiles (user_id, reference_path, mode, provider, provider_voice_id, "
      "profile, consented_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
      "ON CONFLICT (user_id) DO UPDATE SET reference_path = excluded.reference_path, "
      "mode = excluded.mode, provider = excluded.provider, "
      "provider_voice_id = excluded.provider_voice_id, profile = excluded.profile, "
      "consented_at = excluded.consented_at, created_at = excluded.created_at",
      {voice.user_id, voice.reference_file,
       std::string(voice.mode == VoiceMode::clone ? "clone" : "approximate"), voice.provider,
       store::nullable(voice.provider_voice_id), json::serialize(profile_json(voice.profile)),
       voice.consented_at, voice.created_at});
  if (!written) return written.error();
  if (auto done = tx->commit(); !done) return done.error();
  return previous;
}

Result<std::optional<StoredVoice>> VoiceProfileStore::remove(std::int64_t user_id) {
  auto lease = database_.acquire();
  if (!lease) return lease.error();
  auto tx = store::Transaction::begin(**lease);
  if (!tx) return tx.error();
  auto previous = load(**lease, user_id);
  if (!previous) return previous.error();
  if (!previous->has_value()) return previous;
  auto deleted = (*lease)->query("DELETE FROM voice_profiles WHERE user_id = $1", {user_id});
  if (!deleted) return deleted.error();
  if (auto done = tx->commit(); !done) return done.error();
  return previous;
}

}  // namespace parley::speech
