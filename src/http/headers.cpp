// Header lookup and request bodies, shared by every layer that reads
// responses or requests.
#include <algorithm>
#include <cctype>

#include "http/transport.hpp"

namespace ecr::http {

bool equal_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::optional<std::string_view> find_header(const Headers& headers, std::string_view name) {
  for (const auto& [key, value] : headers) {
    if (equal_ignoring_case(key, name)) return std::string_view(value);
  }
  return std::nullopt;
}

std::string body_text(const Request& request) {
  if (request.body_source == nullptr) return std::string(request.body);
  std::string body(request.body_source->size(), '\0');
  request.body_source->read_at(0, body);
  return body;
}

}  // namespace ecr::http
