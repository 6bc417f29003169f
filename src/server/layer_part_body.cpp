#include "server/layer_part_body.hpp"

#include <cstring>

namespace ecr::server {
namespace {

constexpr std::size_t npos = std::string_view::npos;

std::size_t skip_space(std::string_view s, std::size_t pos) {
  while (pos < s.size() && (s[pos] == ' ' || s[pos] == '\t' || s[pos] == '\n' || s[pos] == '\r')) {
    ++pos;
  }
  return pos;
}

// `s[pos]` is an opening quote: the position of its closing quote, escapes
// honoured; npos when the string does not end.
std::size_t string_end(std::string_view s, std::size_t pos) {
  for (std::size_t i = pos + 1; i < s.size();) {
    i = s.find_first_of("\"\\", i);
    if (i == npos) return npos;
    if (s[i] == '"') return i;
    i += 2;  // the escaped character, whatever it is
  }
  return npos;
}

// The position just past the value starting at `pos`; npos when it does not
// end. Objects and arrays are skipped by bracket depth, strings honoured;
// numbers and literals run to the next delimiter.
std::size_t value_end(std::string_view s, std::size_t pos) {
  if (pos >= s.size()) return npos;
  if (s[pos] == '"') {
    const std::size_t close = string_end(s, pos);
    return close == npos ? npos : close + 1;
  }
  if (s[pos] == '{' || s[pos] == '[') {
    std::size_t depth = 0;
    for (std::size_t i = pos; i < s.size(); ++i) {
      const char c = s[i];
      if (c == '"') {
        i = string_end(s, i);
        if (i == npos) return npos;
      } else if (c == '{' || c == '[') {
        ++depth;
      } else if (c == '}' || c == ']') {
        if (--depth == 0) return i + 1;
      }
    }
    return npos;
  }
  const std::size_t end = s.find_first_of(",}] \t\r\n", pos);
  return end == pos ? npos : end;
}

}  // namespace

std::optional<StringSpan> find_plain_string_member(std::string_view json, std::string_view name,
                                                   std::optional<StringSpan> known) {
  std::size_t pos = skip_space(json, 0);
  if (pos >= json.size() || json[pos] != '{') return std::nullopt;
  pos = skip_space(json, pos + 1);
  if (pos < json.size() && json[pos] == '}') return std::nullopt;  // {}
  std::optional<StringSpan> found;
  while (true) {
    if (pos >= json.size() || json[pos] != '"') return std::nullopt;
    const std::size_t key_end = string_end(json, pos);
    if (key_end == npos) return std::nullopt;
    const std::string_view key = json.substr(pos + 1, key_end - pos - 1);
    // An escaped key might spell `name`; the parser decides.
    if (key.find('\\') != npos) return std::nullopt;
    pos = skip_space(json, key_end + 1);
    if (pos >= json.size() || json[pos] != ':') return std::nullopt;
    pos = skip_space(json, pos + 1);
    if (key == name) {
      if (found || pos >= json.size() || json[pos] != '"') return std::nullopt;
      std::size_t close = npos;
      if (known && known->begin == pos + 1) {
        close = known->end;
        if (close >= json.size() || json[close] != '"') return std::nullopt;
      } else {
        close = json.find('"', pos + 1);
        if (close == npos) return std::nullopt;
        if (std::memchr(json.data() + pos + 1, '\\', close - pos - 1) != nullptr) {
          return std::nullopt;
        }
      }
      found = StringSpan{pos + 1, close};
      pos = close + 1;
    } else {
      pos = value_end(json, pos);
      if (pos == npos) return std::nullopt;
    }
    pos = skip_space(json, pos);
    if (pos >= json.size()) return std::nullopt;
    if (json[pos] == '}') return found;
    if (json[pos] != ',') return std::nullopt;
    pos = skip_space(json, pos + 1);
  }
}

MemberStart find_string_member_start(std::string_view received, std::string_view name) {
  constexpr MemberStart kIncomplete{MemberStart::State::kIncomplete, 0};
  constexpr MemberStart kNotPlain{MemberStart::State::kNotPlain, 0};
  std::size_t pos = skip_space(received, 0);
  if (pos >= received.size()) return kIncomplete;
  if (received[pos] != '{') return kNotPlain;
  pos = skip_space(received, pos + 1);
  while (true) {
    if (pos >= received.size()) return kIncomplete;
    if (received[pos] != '"') return kNotPlain;  // `}` included: no such member
    const std::size_t key_end = string_end(received, pos);
    if (key_end == npos) return kIncomplete;
    const std::string_view key = received.substr(pos + 1, key_end - pos - 1);
    if (key.find('\\') != npos) return kNotPlain;
    pos = skip_space(received, key_end + 1);
    if (pos >= received.size()) return kIncomplete;
    if (received[pos] != ':') return kNotPlain;
    pos = skip_space(received, pos + 1);
    if (pos >= received.size()) return kIncomplete;
    if (key == name) {
      if (received[pos] != '"') return kNotPlain;
      return {MemberStart::State::kFound, pos + 1};
    }
    pos = value_end(received, pos);
    // A value that runs to the end of what arrived may go on in what has
    // not (a malformed one is left to the parser: the caller's cap ends it).
    if (pos == npos) return kIncomplete;
    pos = skip_space(received, pos);
    if (pos >= received.size()) return kIncomplete;
    if (received[pos] != ',') return kNotPlain;
    pos = skip_space(received, pos + 1);
  }
}

}  // namespace ecr::server
