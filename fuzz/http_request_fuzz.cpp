// libFuzzer: ecr-local's own parsing of what a client sends beyond Beast's
// parser (src/server/http_exchange.hpp): the request target split into path
// and percent-decoded query, and a Range header against an entity size.
// Nothing may crash, and a range, when one is given, must lie inside the
// entity.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "fuzz_fields.hpp"
#include "server/http_exchange.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  // The first line is a Range header, the rest a request target.
  std::string_view fields[1];
  const std::string_view target = ecr::fuzz::split_fields(bytes, fields);
  const std::string_view range = fields[0];

  ecr::server::HttpRequest request;
  if (ecr::server::parse_target(target, request)) {
    if (!target.starts_with(request.path)) std::abort();
    for (const auto& [name, value] : request.query) {
      if (name.size() > target.size() || value.size() > target.size()) std::abort();
    }
  }
  for (std::uint64_t entity :
       {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{4096}, std::uint64_t{1} << 40}) {
    if (auto r = ecr::server::parse_byte_range(range, entity)) {
      if (r->length > entity || r->first > entity || r->first + r->length > entity) std::abort();
    }
  }
  return 0;
}
