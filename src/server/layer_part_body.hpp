// UploadLayerPart's body without copying its part: the layerPartBlob member
// of a ~28 MB request is ~13-28 MB of base64 that a DOM parse copies into the
// parser's string buffer before it is decoded. This finds the base64 where it
// lies in the body so it can be decoded straight into the part buffer, and
// the rest of the body (a few hundred bytes) parsed as usual.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace ecr::server {

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

}  // namespace ecr::server
