// A recursive-descent port of awscli's ShorthandParser. The character classes
// are those of its regular expressions (_START_WORD, _FIRST_FOLLOW_CHARS,
// _SECOND_FOLLOW_CHARS), spelled out as predicates.
#include "shorthand.hpp"

#include <cctype>
#include <charconv>
#include <cstdlib>
#include <string>

#include "usage_error.hpp"

namespace ecr::cli {
namespace {

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

// _START_WORD: anything printable except quotes, ',', '=', '[', '{' and space.
bool starts_word(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u < 0x21 || u == 0x7f) return false;
  return c != '"' && c != '\'' && c != ',' && c != '=' && c != '[' && c != '{';
}

// _FIRST_FOLLOW_CHARS: whitespace and printable except quotes, ',', ']', '}'.
bool follows_first(char c) {
  if (is_space(c)) return true;
  const auto u = static_cast<unsigned char>(c);
  if (u < 0x21 || u == 0x7f) return false;
  return c != '"' && c != '\'' && c != ',' && c != ']' && c != '}';
}

// _SECOND_FOLLOW_CHARS: whitespace and printable except quotes, ',' and '='.
bool follows_second(char c) {
  if (is_space(c)) return true;
  const auto u = static_cast<unsigned char>(c);
  if (u < 0x21 || u == 0x7f) return false;
  return c != '"' && c != '\'' && c != ',' && c != '=';
}

bool is_key_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' || c == '.' ||
         c == '#' || c == '/' || c == ':';
}

std::string rstrip(std::string s) {
  while (!s.empty() && is_space(s.back())) s.pop_back();
  return s;
}

class ShorthandParser {
 public:
  explicit ShorthandParser(std::string_view input) : in_(input) {}

  JsonValue parameter() {
    JsonValue params = JsonValue::object();
    keyval(params);
    while (!at_eof()) {
      expect(',', true);
      keyval(params);
    }
    return params;
  }

 private:
  void keyval(JsonValue& params) {
    const std::size_t key_start = pos_;
    std::string key = parse_key();
    expect('=', true);
    JsonValue value = values();
    if (params.find(key) != nullptr) {
      throw UsageError("Second instance of key \"" + key + "\" encountered for input:\n" +
                       std::string(in_) + "\n" + std::string(key_start, ' ') +
                       "^\nThis is often because there is a preceding \",\" instead of a space.");
    }
    params.set(key, std::move(value));
  }

  std::string parse_key() {
    const std::size_t start = pos_;
    while (!at_eof() && is_key_char(in_[pos_])) ++pos_;
    return std::string(in_.substr(start, pos_ - start));
  }

  JsonValue values() {
    if (at_eof()) return JsonValue::string("");
    if (current() == '[') return explicit_list();
    if (current() == '{') return hash_literal();
    return csv_value();
  }

  // `a` or `a,b,c`: trailing bare words (no '=' after them) make a list.
  JsonValue csv_value() {
    JsonValue first = first_value();
    consume_whitespace();
    if (at_eof() || current() != ',') return first;
    expect(',', true);
    JsonValue::Array items{first};
    while (true) {
      const std::size_t before = pos_;
      std::optional<JsonValue> next = second_value();
      consume_whitespace();
      if (next && at_eof()) {
        items.push_back(std::move(*next));
        break;
      }
      if (next && current() == ',') {
        ++pos_;
        consume_whitespace();
        items.push_back(std::move(*next));
        continue;
      }
      // Not a list item but the next key: go back to the comma before it.
      if (!next && at_eof()) fail("<second>", before);
      pos_ = before;
      while (pos_ > 0 && in_[pos_] != ',') --pos_;
      break;
    }
    if (items.size() == 1) return first;
    return JsonValue::array(std::move(items));
  }

  JsonValue explicit_list() {
    expect('[', true);
    JsonValue::Array items;
    while (current() != ']') {
      if (at_eof()) fail("]", pos_);
      items.push_back(explicit_value());
      consume_whitespace();
      if (current() != ']') {
        expect(',', false);
        consume_whitespace();
      }
    }
    expect(']', false);
    return JsonValue::array(std::move(items));
  }

  JsonValue explicit_value() {
    if (current() == '[') return explicit_list();
    if (current() == '{') return hash_literal();
    return first_value();
  }

  JsonValue hash_literal() {
    expect('{', true);
    JsonValue members = JsonValue::object();
    while (current() != '}') {
      if (at_eof()) fail("}", pos_);
      std::string key = parse_key();
      expect('=', true);
      JsonValue value = explicit_value();
      consume_whitespace();
      if (current() != '}') {
        expect(',', false);
        consume_whitespace();
      }
      members.set(key, std::move(value));
    }
    expect('}', false);
    return members;
  }

  JsonValue first_value() {
    if (current() == '\'' || current() == '"') return JsonValue::string(quoted());
    return JsonValue::string(word(follows_first));
  }

  // nullopt when no second value starts here (awscli's regex fails).
  std::optional<JsonValue> second_value() {
    if (current() == '\'' || current() == '"') return JsonValue::string(quoted());
    if (at_eof() || !(starts_word(current()) || escaped_comma())) return std::nullopt;
    return JsonValue::string(word(follows_second));
  }

  bool escaped_comma() const {
    return pos_ + 1 < in_.size() && in_[pos_] == '\\' && in_[pos_ + 1] == ',';
  }

  // A bare word; "\," is a literal comma. Empty when nothing matches.
  std::string word(bool (*follows)(char)) {
    std::string out;
    if (at_eof() || !(starts_word(current()) || escaped_comma())) return out;
    bool first = true;
    while (!at_eof()) {
      if (escaped_comma()) {
        out += ',';
        pos_ += 2;
      } else if (first ? starts_word(current()) : follows(current())) {
        out += current();
        ++pos_;
      } else {
        break;
      }
      first = false;
    }
    return rstrip(std::move(out));
  }

  // '...' or "..."; a backslash escapes the quote and itself.
  std::string quoted() {
    const char quote = current();
    const std::size_t start = pos_;
    std::size_t i = pos_ + 1;
    while (i < in_.size() && in_[i] != quote) {
      i += (in_[i] == '\\' && i + 1 < in_.size() && in_[i + 1] == quote) ? 2 : 1;
    }
    if (i >= in_.size()) fail(quote == '"' ? "<double quoted>" : "<singled quoted>", start);
    std::string raw(in_.substr(start + 1, i - start - 1));
    pos_ = i + 1;
    std::string out;
    for (std::size_t k = 0; k < raw.size(); ++k) {
      if (raw[k] == '\\' && k + 1 < raw.size() && (raw[k + 1] == quote || raw[k + 1] == '\\')) {
        ++k;
      }
      out += raw[k];
    }
    return out;
  }

  void expect(char c, bool consume_ws) {
    if (consume_ws) consume_whitespace();
    if (at_eof() || current() != c) fail(std::string(1, c), pos_);
    ++pos_;
    if (consume_ws) consume_whitespace();
  }

  [[noreturn]] void fail(const std::string& expected, std::size_t where) const {
    const std::string actual = where < in_.size() ? std::string(1, in_[where]) : "EOF";
    throw UsageError("Expected: '" + expected + "', received: '" + actual + "' for input:\n" +
                     std::string(in_) + "\n" + std::string(where, ' ') + "^");
  }

  void consume_whitespace() {
    while (!at_eof() && is_space(current())) ++pos_;
  }
  bool at_eof() const { return pos_ >= in_.size(); }
  char current() const { return at_eof() ? '\0' : in_[pos_]; }

  std::string_view in_;
  std::size_t pos_ = 0;
};

}  // namespace

JsonValue parse_shorthand(std::string_view text) { return ShorthandParser(text).parameter(); }

JsonValue coerce_shorthand(JsonValue value, const api::model::ShapeInfo& shape) {
  using api::model::ShapeKind;
  switch (shape.kind) {
    case ShapeKind::kStructure:
      if (value.is_object()) {
        for (auto& [name, member_value] : value.as_object()) {
          if (const api::model::MemberInfo* member = shape.find_member(name)) {
            member_value = coerce_shorthand(std::move(member_value), member->shape());
          }
        }
      }
      return value;
    case ShapeKind::kMap:
      if (value.is_object()) {
        for (auto& entry : value.as_object()) {
          entry.second =
              coerce_shorthand(std::move(entry.second), api::model::shape_at(shape.element));
        }
      }
      return value;
    case ShapeKind::kList: {
      if (!value.is_array()) value = JsonValue::array({std::move(value)});
      for (JsonValue& item : value.as_array()) {
        item = coerce_shorthand(std::move(item), api::model::shape_at(shape.element));
      }
      return value;
    }
    case ShapeKind::kInteger:
    case ShapeKind::kLong:
      if (value.is_string()) {
        const std::string& s = value.as_string();
        std::int64_t n = 0;
        const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
        if (ec != std::errc() || end != s.data() + s.size()) {
          throw UsageError("invalid literal for an integer: '" + s + "'");
        }
        return JsonValue::integer(n);
      }
      return value;
    case ShapeKind::kDouble:
      if (value.is_string()) {
        const std::string& s = value.as_string();
        char* end = nullptr;
        const double d = std::strtod(s.c_str(), &end);
        if (s.empty() || end != s.c_str() + s.size()) {
          throw UsageError("could not convert string to a number: '" + s + "'");
        }
        return JsonValue::number(d);
      }
      return value;
    case ShapeKind::kBoolean:
      if (value.is_string()) {
        std::string lower;
        for (char c : value.as_string()) {
          lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        if (lower == "true") return JsonValue::boolean(true);
        if (lower == "false") return JsonValue::boolean(false);
      }
      return value;
    default:
      return value;
  }
}

}  // namespace ecr::cli
