// JSON text for the wire (compact) and for people (pretty). Pretty output is
// byte-for-byte what Python's json.dumps(obj, indent=4, ensure_ascii=False)
// writes, because the `ecr` CLI's output is compared with the AWS CLI's.
#include "core/json_writer.hpp"

#include <cassert>
#include <charconv>
#include <cmath>
#include <cstring>
#include <system_error>

namespace ecr::json {
namespace {

constexpr std::size_t kIndent = 4;  // json.dumps(indent=4), as the AWS CLI prints

// Characters that need escaping: '"', '\\' and the C0 controls. Everything
// else, including DEL and every byte of multi-byte UTF-8, passes through.
constexpr bool needs_escape(unsigned char c) { return c < 0x20 || c == '"' || c == '\\'; }

// Python's repr(float) layout applied to the shortest round-trip digits: plain
// notation when the decimal exponent is in [-4, 16), else d.ddde+XX; a plain
// integral value keeps a ".0" so it reads back as a float.
void append_python_float(std::string& out, double v) {
  char sci[32];
  auto [end, ec] = std::to_chars(sci, sci + sizeof sci, v, std::chars_format::scientific);
  assert(ec == std::errc());
  std::string_view s(sci, static_cast<std::size_t>(end - sci));
  if (s.front() == '-') {
    out += '-';
    s.remove_prefix(1);
  }
  const std::size_t e_at = s.find('e');
  std::string digits;
  digits += s[0];
  if (e_at > 1) digits.append(s.substr(2, e_at - 2));  // skip the '.'
  int exponent = 0;
  std::from_chars(s.data() + e_at + 1 + (s[e_at + 1] == '+'), s.data() + s.size(), exponent);

  if (exponent < -4 || exponent >= 16) {
    out += digits[0];
    if (digits.size() > 1) {
      out += '.';
      out.append(digits, 1);
    }
    out += exponent < 0 ? "e-" : "e+";
    const int magnitude = exponent < 0 ? -exponent : exponent;
    if (magnitude < 10) out += '0';
    out += std::to_string(magnitude);
    return;
  }
  if (exponent < 0) {
    out += "0.";
    out.append(static_cast<std::size_t>(-exponent - 1), '0');
    out += digits;
    return;
  }
  const auto int_digits = static_cast<std::size_t>(exponent) + 1;
  if (digits.size() <= int_digits) {
    out += digits;
    out.append(int_digits - digits.size(), '0');
    out += ".0";
  } else {
    out.append(digits, 0, int_digits);
    out += '.';
    out.append(digits, int_digits);
  }
}

}  // namespace

void escape_to(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::size_t run_start = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (!needs_escape(c)) continue;
    out.append(s.data() + run_start, i - run_start);
    run_start = i + 1;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default: {
        const char u[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xf]};
        out.append(u, sizeof u);
      }
    }
  }
  out.append(s.data() + run_start, s.size() - run_start);
}

Writer::Writer(std::string& out, bool pretty) : out_(out), pretty_(pretty) {}

void Writer::newline_and_indent(std::size_t depth) {
  out_ += '\n';
  out_.append(depth * kIndent, ' ');
}

// Places the separator before a value: nothing after a key, else a comma if
// the container already has an item, and in pretty mode a new indented line.
void Writer::before_value() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (has_items_.empty()) return;  // the top-level value
  if (has_items_.back()) out_ += ',';
  has_items_.back() = true;
  if (pretty_) newline_and_indent(has_items_.size());
}

void Writer::begin_object() {
  before_value();
  out_ += '{';
  has_items_.push_back(false);
}

void Writer::end_object() { close('}'); }

void Writer::begin_array() {
  before_value();
  out_ += '[';
  has_items_.push_back(false);
}

void Writer::end_array() { close(']'); }

// Empty containers close on the same line ("{}", "[]"), as json.dumps does.
void Writer::close(char bracket) {
  assert(!has_items_.empty() && !after_key_);
  const bool had_items = has_items_.back();
  has_items_.pop_back();
  if (pretty_ && had_items) newline_and_indent(has_items_.size());
  out_ += bracket;
}

void Writer::key(std::string_view k) {
  assert(!has_items_.empty() && !after_key_);
  before_value();
  out_ += '"';
  escape_to(out_, k);
  out_ += pretty_ ? "\": " : "\":";
  after_key_ = true;
}

void Writer::string(std::string_view s) {
  before_value();
  out_ += '"';
  escape_to(out_, s);
  out_ += '"';
}

void Writer::integer(std::int64_t v) {
  before_value();
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  assert(ec == std::errc());
  out_.append(buf, end);
}

void Writer::number(double v) {
  before_value();
  // JSON has no NaN or infinity; null is what a reader can still parse.
  if (!std::isfinite(v)) {
    out_ += "null";
    return;
  }
  append_python_float(out_, v);
}

void Writer::boolean(bool v) {
  before_value();
  out_ += v ? "true" : "false";
}

void Writer::null() {
  before_value();
  out_ += "null";
}

void Writer::raw(std::string_view json_text) {
  before_value();
  out_ += json_text;
}

char* Writer::string_in_place(std::size_t n) {
  before_value();
  out_ += '"';
  const std::size_t at = out_.size();
  // resize() zero-fills; the caller overwrites every byte, and the fill is
  // cheap next to encoding the payload.
  out_.resize(at + n + 1);
  out_.back() = '"';
  return out_.data() + at;
}

}  // namespace ecr::json
