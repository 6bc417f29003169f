// libFuzzer: find_plain_string_member (src/server/layer_part_body.hpp), which
// finds UploadLayerPart's base64 in the raw body so it is not copied by the
// JSON parser. On any input it must not crash, its span must lie inside the
// text and hold no quote or backslash; and when the text is a JSON object
// the parser accepts, the span must be exactly the member's string as the
// parser reads it.
//
// The same text through LayerPartIntake (layer_part_intake.hpp), given in
// pieces whose size the first byte picks, as the listener takes a body in:
// it must not crash, its payload hash must be the text's SHA-256, and a part
// it gives must be the one the buffered path takes (the same span, its
// base64 decoded).
#include <simdjson.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/base64.hpp"
#include "ecr/digest.hpp"
#include "ecr/error.hpp"
#include "server/layer_part_body.hpp"
#include "server/layer_part_intake.hpp"

namespace {

void check_intake(std::string_view json, std::size_t step) {
  static simdjson::dom::parser parser;
  static std::string part;
  ecr::server::LayerPartIntake intake;
  intake.start(json.size(), part, parser, {});
  for (std::size_t at = 0; at < json.size(); at += step) {
    intake.take(json.data() + at, std::min(step, json.size() - at));
  }
  if (intake.body_digest() != ecr::Digest::of(json)) std::abort();
  const auto taken = intake.take_part();
  if (!taken) return;
  // What the handler relies on: the blob's characters are a plain string
  // and the walk that steps over them finds what a full walk finds.
  const ecr::server::StringSpan blob = taken->blob;
  if (blob.begin > blob.end || blob.end >= json.size() || json[blob.end] != '"') std::abort();
  const std::string_view text = json.substr(blob.begin, blob.end - blob.begin);
  if (text.find_first_of("\"\\") != std::string_view::npos) std::abort();
  const auto known = ecr::server::find_plain_string_member(json, "layerPartBlob", blob);
  const auto scanned = ecr::server::find_plain_string_member(json, "layerPartBlob");
  if (known.has_value() != scanned.has_value()) std::abort();
  if (known && (known->begin != scanned->begin || known->end != scanned->end)) std::abort();
  std::string decoded;
  try {
    decoded = ecr::base64::decode(text);
  } catch (const ecr::InputError&) {
    std::abort();  // the intake decoded what the strict decoder refuses
  }
  if (decoded != taken->bytes) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view json(reinterpret_cast<const char*>(data), size);
  if (size > 0) check_intake(json, 1 + data[0] % 16);
  const auto span = ecr::server::find_plain_string_member(json, "layerPartBlob");
  if (!span) return 0;
  if (span->begin > span->end || span->end > json.size()) std::abort();
  const std::string_view value = json.substr(span->begin, span->end - span->begin);
  if (value.find_first_of("\"\\") != std::string_view::npos) std::abort();

  static simdjson::dom::parser parser;
  simdjson::dom::element document;
  if (parser.parse(json.data(), json.size()).get(document) != simdjson::SUCCESS) return 0;
  simdjson::dom::object object;
  if (document.get_object().get(object) != simdjson::SUCCESS) std::abort();
  std::string_view parsed;
  if (object["layerPartBlob"].get_string().get(parsed) != simdjson::SUCCESS) std::abort();
  if (parsed != value) std::abort();
  return 0;
}
