// botocore's xform_name: split before a capital that starts a lower-case run,
// then between a lower-case letter or digit and a capital, then lower-case all.
#include "option_names.hpp"

#include <cctype>

namespace ecr::cli {
namespace {

bool is_upper(char c) { return std::isupper(static_cast<unsigned char>(c)) != 0; }
bool is_lower(char c) { return std::islower(static_cast<unsigned char>(c)) != 0; }
bool is_digit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }

}  // namespace

std::string kebab_case(std::string_view name) {
  if (name.find('-') != std::string_view::npos) return std::string(name);
  // Pass 1, re.sub('(.)([A-Z][a-z]+)', r'\1-\2'): a dash before every capital
  // followed by a lower-case letter, except at the start.
  std::string first;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (i > 0 && is_upper(name[i]) && i + 1 < name.size() && is_lower(name[i + 1]) &&
        (first.empty() || first.back() != '-')) {
      first += '-';
    }
    first += name[i];
  }
  // Pass 2, re.sub('([a-z0-9])([A-Z])', r'\1-\2'), then lower().
  std::string out;
  for (std::size_t i = 0; i < first.size(); ++i) {
    if (i > 0 && is_upper(first[i]) && (is_lower(first[i - 1]) || is_digit(first[i - 1]))) {
      out += '-';
    }
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(first[i])));
  }
  return out;
}

}  // namespace ecr::cli
