// libFuzzer: find_plain_string_member (src/server/layer_part_body.hpp), which
// finds UploadLayerPart's base64 in the raw body so it is not copied by the
// JSON parser. On any input it must not crash, its span must lie inside the
// text and hold no quote or backslash; and when the text is a JSON object
// the parser accepts, the span must be exactly the member's string as the
// parser reads it.
//
// scan_part_prefix, which reads the members before the base64 of a body
// still arriving (layer_part_stream.hpp), on the same input: whatever it
// finds in a prefix of the text it finds the same in the whole text (more
// text never changes the answer), the blob starts where
// find_plain_string_member says, and when the parser accepts the text its
// repositoryName, uploadId and partFirstByte are the ones the parser reads.
#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "server/layer_part_body.hpp"

namespace {

void check_prefix_scan(std::string_view json) {
  using ecr::server::PrefixScan;
  ecr::server::PartPrefix whole;
  const PrefixScan found = ecr::server::scan_part_prefix(json, whole);
  // Any cut of the text: kNeedMore, or the whole text's answer.
  const std::size_t cut = json.empty() ? 0 : static_cast<unsigned char>(json[0]) % json.size();
  ecr::server::PartPrefix part;
  const PrefixScan at_cut = ecr::server::scan_part_prefix(json.substr(0, cut), part);
  if (at_cut != PrefixScan::kNeedMore && at_cut != found) std::abort();
  if (at_cut == PrefixScan::kFound &&
      (part.blob_begin != whole.blob_begin || part.upload_id != whole.upload_id ||
       part.repository_name != whole.repository_name ||
       part.part_first_byte != whole.part_first_byte)) {
    std::abort();
  }
  if (found != PrefixScan::kFound) return;
  if (whole.blob_begin == 0 || whole.blob_begin > json.size() || json[whole.blob_begin - 1] != '"' ||
      whole.part_first_byte < 0) {
    std::abort();
  }
  const auto span = ecr::server::find_plain_string_member(json, "layerPartBlob");
  if (span && span->begin != whole.blob_begin) std::abort();
  static simdjson::dom::parser parser;
  simdjson::dom::element document;
  if (parser.parse(json.data(), json.size()).get(document) != simdjson::SUCCESS) return;
  simdjson::dom::object object;
  if (document.get_object().get(object) != simdjson::SUCCESS) std::abort();
  std::string_view text;
  std::int64_t number = 0;
  if (object["repositoryName"].get_string().get(text) != simdjson::SUCCESS ||
      text != whole.repository_name) {
    std::abort();
  }
  if (object["uploadId"].get_string().get(text) != simdjson::SUCCESS || text != whole.upload_id) {
    std::abort();
  }
  if (object["partFirstByte"].get_int64().get(number) != simdjson::SUCCESS ||
      number != whole.part_first_byte) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view json(reinterpret_cast<const char*>(data), size);
  check_prefix_scan(json);
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
