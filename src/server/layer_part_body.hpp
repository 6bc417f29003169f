// UploadLayerPart's body without copying its part: the layerPartBlob member
// of a ~28 MB request is ~13-28 MB of base64 that a DOM parse copies into the
// parser's string buffer before it is decoded. This finds the base64 where it
// lies in the body so it can be decoded straight into the part buffer, and
// the rest of the body (a few hundred bytes) parsed as usual.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ecr::server {

// The service model's limit on one layerPartBlob (LayerPartBlob max length).
inline constexpr std::size_t kMaxLayerPartBytes = 20'971'520;

// Offsets into the JSON text of a string value's characters, between its
// quotes.
struct StringSpan {
  std::size_t begin = 0;
  std::size_t end = 0;
};

// The value of the member `name` of the JSON object `json`, when `json` is an
// object in which `name` occurs exactly once among the top-level members, its
// value is a string, and that string and every top-level key are free of
// escapes. nullopt otherwise: the caller then parses the whole body, which
// answers malformed, duplicated or escaped input exactly as before. The rest
// of the text is walked only as far as telling members apart; whether it is
// valid JSON is left to the parser that reads it afterwards.
std::optional<StringSpan> find_plain_string_member(std::string_view json, std::string_view name);

// What the text of an UploadLayerPart body says before its layerPartBlob's
// base64 begins: enough for the part to be written while the rest of the
// body arrives (layer_part_stream.hpp).
struct PartPrefix {
  std::size_t blob_begin = 0;  // offset of the base64's first character
  std::string repository_name;
  std::string upload_id;
  std::int64_t part_first_byte = 0;
};

enum class PrefixScan {
  kNeedMore,  // the text ends before layerPartBlob's value starts
  kFound,     // `out` is filled in
  kNotPlain,  // not a shape this reads; the whole body is parsed instead
};

// Scans the start of an UploadLayerPart body. kFound once `text` holds
// `{`, members, and `"layerPartBlob":"`, where every member before the blob
// has a key without escapes and no key repeats, repositoryName and uploadId
// are strings without escapes, and partFirstByte is a plain non-negative
// integer (digits, no sign, fraction, exponent or leading zero) of at most
// 18 digits. kNotPlain when anything else is seen before the blob (the
// blob's value not a string included); kNeedMore when the text stops
// before the blob starts. Only a prefix is judged: whether the rest of the
// body is valid JSON is left to the parser that reads it afterwards, which
// sees the same members (the caller also requires the blob to be the last
// member).
PrefixScan scan_part_prefix(std::string_view text, PartPrefix& out);

}  // namespace ecr::server
