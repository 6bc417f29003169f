#include "server/layer_part_body.hpp"

#include <cstring>
#include <vector>

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

std::optional<StringSpan> find_plain_string_member(std::string_view json, std::string_view name) {
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
      const std::size_t close = json.find('"', pos + 1);
      if (close == npos) return std::nullopt;
      if (std::memchr(json.data() + pos + 1, '\\', close - pos - 1) != nullptr) return std::nullopt;
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

namespace {

// A plain non-negative JSON integer that fits an int64 with room to spare.
std::optional<std::int64_t> plain_integer(std::string_view text) {
  if (text.empty() || text.size() > 18) return std::nullopt;
  if (text.size() > 1 && text[0] == '0') return std::nullopt;
  std::int64_t n = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  return n;
}

}  // namespace

PrefixScan scan_part_prefix(std::string_view text, PartPrefix& out) {
  static constexpr std::string_view kBlob = "layerPartBlob";
  std::size_t pos = skip_space(text, 0);
  if (pos >= text.size()) return PrefixScan::kNeedMore;
  if (text[pos] != '{') return PrefixScan::kNotPlain;
  std::vector<std::string_view> keys;
  std::optional<std::string_view> repository, upload;
  std::optional<std::int64_t> first_byte;
  pos = skip_space(text, pos + 1);
  while (true) {
    if (pos >= text.size()) return PrefixScan::kNeedMore;
    if (text[pos] != '"') return PrefixScan::kNotPlain;
    const std::size_t key_end = string_end(text, pos);
    if (key_end == npos) return PrefixScan::kNeedMore;
    const std::string_view key = text.substr(pos + 1, key_end - pos - 1);
    if (key.find('\\') != npos) return PrefixScan::kNotPlain;
    for (const auto seen : keys) {
      if (seen == key) return PrefixScan::kNotPlain;
    }
    keys.push_back(key);
    pos = skip_space(text, key_end + 1);
    if (pos >= text.size()) return PrefixScan::kNeedMore;
    if (text[pos] != ':') return PrefixScan::kNotPlain;
    pos = skip_space(text, pos + 1);
    if (pos >= text.size()) return PrefixScan::kNeedMore;
    if (key == kBlob) {
      if (text[pos] != '"' || !repository || !upload || !first_byte) return PrefixScan::kNotPlain;
      out.blob_begin = pos + 1;
      out.repository_name = std::string(*repository);
      out.upload_id = std::string(*upload);
      out.part_first_byte = *first_byte;
      return PrefixScan::kFound;
    }
    const std::size_t end = value_end(text, pos);
    // A value that runs to the end of the text may go on in the next piece
    // (a number has no closing mark); one that ends with the text is
    // judged once the text holds what follows it.
    if (end == npos || end >= text.size()) return PrefixScan::kNeedMore;
    const std::string_view value = text.substr(pos, end - pos);
    if (key == "repositoryName" || key == "uploadId") {
      if (value.size() < 2 || value.front() != '"' || value.find('\\') != npos) {
        return PrefixScan::kNotPlain;
      }
      (key == "repositoryName" ? repository : upload) = value.substr(1, value.size() - 2);
    } else if (key == "partFirstByte") {
      first_byte = plain_integer(value);
      if (!first_byte) return PrefixScan::kNotPlain;
    }
    pos = skip_space(text, end);
    if (pos >= text.size()) return PrefixScan::kNeedMore;
    if (text[pos] != ',') return PrefixScan::kNotPlain;  // `}`: no blob, or malformed
    pos = skip_space(text, pos + 1);
  }
}

}  // namespace ecr::server
