// libFuzzer: ecr-local's own parsing of what a client sends beyond Beast's
// parser (src/server/http_exchange.hpp): the request target split into path
// and percent-decoded query, and a Range header against an entity size.
// Nothing may crash, and a range, when one is given, must lie inside the
// entity.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "server/http_exchange.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  // The first line is a Range header, the rest a request target.
  const std::size_t newline = bytes.find('\n');
  const std::string_view range = bytes.substr(0, newline);
  const std::string_view target =
      newline == std::string_view::npos ? std::string_view() : bytes.substr(newline + 1);

  ecr::server::HttpRequest request;
  if (ecr::server::parse_target(target, request)) {
    if (!target.starts_with(request.path)) std::abort();
    for (const auto& [name, value] : request.query) {
      if (name.size() > target.size() || value.size() > target.size()) std::abort();
    }
  }
  for (std::uint64_t entity : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{4096},
                               std::uint64_t{1} << 40}) {
    if (auto r = ecr::server::parse_byte_range(range, entity)) {
      if (r->length > entity || r->first > entity || r->first + r->length > entity) std::abort();
    }
  }
  return 0;
}
