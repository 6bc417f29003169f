// libFuzzer: find_plain_string_member (src/server/layer_part_body.hpp), which
// finds UploadLayerPart's base64 in the raw body so it is not copied by the
// JSON parser. On any input it must not crash, its span must lie inside the
// text and hold no quote or backslash; and when the text is a JSON object
// the parser accepts, the span must be exactly the member's string as the
// parser reads it.
#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "server/layer_part_body.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view json(reinterpret_cast<const char*>(data), size);
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
