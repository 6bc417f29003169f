#include "aws/ini_file.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "aws/canonical_request.hpp"
#include "core/text.hpp"
#include "ecr/error.hpp"

namespace ecr::aws {
namespace {

// The blanks around names, values and inline comments.
constexpr std::string_view kBlanks = " \t\f\v";

bool blank(char c) { return kBlanks.find(c) != std::string_view::npos; }

std::string_view trim(std::string_view s) { return text::trim(s, kBlanks); }

// Cuts an inline comment: '#' or ';' preceded by whitespace.
std::string_view strip_inline_comment(std::string_view s) {
  for (std::size_t i = 1; i < s.size(); ++i) {
    if ((s[i] == '#' || s[i] == ';') && blank(s[i - 1])) return s.substr(0, i);
  }
  return s;
}

[[noreturn]] void parse_error(std::string_view source, std::size_t line_number,
                              const std::string& what) {
  throw InputError(std::string(source) + ":" + std::to_string(line_number) + ": " + what);
}

}  // namespace

IniSections parse_ini(std::string_view text, std::string_view source) {
  IniSections sections;
  IniSection* current = nullptr;
  bool in_nested_block = false;  // skipping the indented lines of `key =`
  std::size_t line_number = 0;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const auto nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? text.npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() + 1 : nl + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);

    const std::string_view content = trim(line);
    if (content.empty() || content.front() == '#' || content.front() == ';') continue;
    const bool indented = blank(line.front());
    if (in_nested_block && indented) continue;
    in_nested_block = false;

    if (content.front() == '[') {
      const std::string_view header = trim(strip_inline_comment(content));
      if (header.back() != ']') {
        parse_error(source, line_number,
                    "section header '" + std::string(content) + "' has no closing ']'");
      }
      const std::string_view name = trim(header.substr(1, header.size() - 2));
      if (name.empty()) parse_error(source, line_number, "empty section name '[]'");
      current = &sections[std::string(name)];
      continue;
    }

    const auto delim = content.find_first_of("=:");
    if (delim == std::string_view::npos || delim == 0) {
      parse_error(source, line_number,
                  "expected '[section]' or 'key = value', got '" + std::string(content) + "'");
    }
    if (current == nullptr) {
      parse_error(source, line_number,
                  "'" + std::string(content) + "' comes before any [section] header");
    }
    const std::string key = lowercase(trim(content.substr(0, delim)));
    const std::string_view value = trim(strip_inline_comment(content.substr(delim + 1)));
    if (value.empty()) {
      // Either a nested block follows (skipped) or the value is just empty.
      in_nested_block = true;
    }
    (*current)[key] = std::string(value);
  }
  return sections;
}

std::optional<IniSections> load_ini_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::nullopt;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw InputError("cannot read " + path + ": " + std::strerror(errno));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return parse_ini(text.str(), path);
}

}  // namespace ecr::aws
