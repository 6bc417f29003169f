// What a registry API (/v2/) request says, parsed from its outside bytes
// before anything is looked up: the route and the names in its path, a
// chunk's Content-Range, the Accept list, Basic credentials. Pure functions
// of their input, fuzzed by fuzz/registry_api_fuzz.cpp.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/http_exchange.hpp"

namespace ecr::server {

// A /v2/ path, split into what it names. Repository names may hold '/', so
// the name is what lies before the last route word ("blobs", "manifests",
// "tags", "referrers") that leaves a well-formed rest.
struct RegistryApiRoute {
  enum class Kind {
    kBase,         // /v2/
    kBlob,         // /v2/<name>/blobs/<digest>
    kUploadStart,  // /v2/<name>/blobs/uploads/
    kUpload,       // /v2/<name>/blobs/uploads/<session>
    kManifest,     // /v2/<name>/manifests/<tag or digest>
    kTags,         // /v2/<name>/tags/list
    kReferrers,    // /v2/<name>/referrers/<digest>
  };
  Kind kind = Kind::kBase;
  std::string name;       // the repository, not yet validated
  std::string reference;  // digest, tag or session id, not yet validated
};

// nullopt for a path that is not one of the routes above.
std::optional<RegistryApiRoute> parse_registry_api_path(std::string_view path);

// ECR's repository name rule: 2 to 256 characters, '/'-separated components
// of lowercase letters and digits joined by single '.', '_' or '-'.
bool is_valid_repository_name(std::string_view name) noexcept;

// The byte range a PATCH says it carries, "Content-Range: <first>-<last>"
// (inclusive; with or without the "bytes " unit some clients send); nullopt
// when malformed or last < first.
struct ChunkRange {
  std::uint64_t first = 0;
  std::uint64_t last = 0;
};
std::optional<ChunkRange> parse_chunk_range(std::string_view text);

// The media types the request's Accept headers list, parameters dropped;
// empty when it states none (anything goes).
std::vector<std::string> accepted_media_types(const HttpRequest& request);

// The password in an Authorization header "Basic base64(AWS:<password>)";
// nullopt when the header is not Basic credentials for the user AWS.
std::optional<std::string> basic_auth_password(std::string_view authorization);

}  // namespace ecr::server
