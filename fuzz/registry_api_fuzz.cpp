// libFuzzer: what ecr-local reads from a registry API (/v2/) request before
// looking anything up (src/server/registry_api_request.hpp): the path split
// into route, repository and reference, the repository name rule, a chunk's
// Content-Range, the Accept list and Basic credentials. Nothing may crash,
// and what is parsed must come from the input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "fuzz_fields.hpp"
#include "server/registry_api_request.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  // One field per line: path, Content-Range, Accept, Authorization.
  std::string_view fields[4];
  (void)ecr::fuzz::split_fields(bytes, fields);
  using namespace ecr::server;
  if (auto route = parse_registry_api_path(fields[0])) {
    if (route->name.size() + route->reference.size() > fields[0].size()) std::abort();
    if (fields[0].find(route->name) == std::string_view::npos) std::abort();
    if (route->reference.find('/') != std::string::npos) std::abort();
    if (is_valid_repository_name(route->name) &&
        (route->name.find("//") != std::string::npos || route->name.size() > 256)) {
      std::abort();
    }
  }
  if (auto range = parse_chunk_range(fields[1])) {
    if (range->last < range->first) std::abort();
  }
  HttpRequest request;
  request.headers.emplace_back("Accept", std::string(fields[2]));
  for (const auto& type : accepted_media_types(request)) {
    if (type.empty() || type.size() > fields[2].size()) std::abort();
  }
  if (auto password = basic_auth_password(fields[3])) {
    if (password->size() > fields[3].size()) std::abort();
  }
  return 0;
}
