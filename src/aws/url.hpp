// Splitting absolute http(s) URLs into the parts SigV4 and endpoint
// resolution need. Deliberately small: no userinfo, no fragments, no IDNA.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace ecr::aws {

struct UrlParts {
  std::string scheme;       // "http" or "https", lowercase
  std::string host;         // lowercase; IPv6 literals keep their brackets
  std::optional<int> port;  // only when written in the URL
  std::string path;         // raw, as written (may be empty)
  std::string query;        // raw, without the '?' (may be empty)

  // The Host header value a client sends: host, plus ":port" unless the
  // port is the scheme's default (what botocore signs and curl sends).
  std::string host_header() const;
  // scheme://host[:port] as written, without path or query.
  std::string origin() const;
};

// Parses "http(s)://host[:port][/path][?query]". Throws InputError naming
// what is wrong (scheme, host, port, userinfo, fragment) and quoting `url`.
UrlParts split_url(std::string_view url);

}  // namespace ecr::aws
