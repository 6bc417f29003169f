// UploadLayerPart's body without copying its part: the layerPartBlob member
// of a ~28 MB request is ~13-28 MB of base64 that a DOM parse copies into the
// parser's string buffer before it is decoded. This finds the base64 where it
// lies in the body so it can be decoded straight into the part buffer, and
// the rest of the body (a few hundred bytes) parsed as usual.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace ecr::server {

// Direct I/O wants a part's address aligned to the device's logical block
// (BlobStore::write_part); 4 KiB covers every common device.
inline constexpr std::size_t kLayerPartAlignment = 4096;
// How far past `buffer` the first kLayerPartAlignment-aligned address lies.
inline std::size_t layer_part_skew(const char* buffer) noexcept {
  const auto address = reinterpret_cast<std::uintptr_t>(buffer);
  return (kLayerPartAlignment - address % kLayerPartAlignment) % kLayerPartAlignment;
}
// LayerPartBlob's max length in the service model; a larger part takes the
// parsing path, whose validation names the limit.
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
//
// `known`: where the member's string is already known to lie, its
// characters checked for quotes and escapes by whoever found it
// (LayerPartIntake): the walk steps over them instead of scanning megabytes
// again. A member `name` whose value starts elsewhere is scanned as usual.
std::optional<StringSpan> find_plain_string_member(std::string_view json, std::string_view name,
                                                   std::optional<StringSpan> known = std::nullopt);

// How far the first bytes of a JSON object, as they arrive, go toward the
// string member `name`: found, with the offset of the string's first
// character, once its opening quote has arrived; not plain when the text so
// far cannot lead to it as find_plain_string_member would see it (not an
// object, an escaped key, `name`'s value not a string, the object ending
// first); incomplete otherwise, more text needed. Members before `name` are
// walked as find_plain_string_member walks them.
struct MemberStart {
  enum class State { kIncomplete, kFound, kNotPlain };
  State state = State::kIncomplete;
  std::size_t value_begin = 0;  // kFound
};
MemberStart find_string_member_start(std::string_view received, std::string_view name);

}  // namespace ecr::server
