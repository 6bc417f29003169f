// A Client over an HTTP transport: libcurl (Client's public constructor) or
// another (the tests' scripted fakes). Private to the library, so the
// transport seam (src/http) stays out of the public headers.
#pragma once

#include <memory>

#include "ecr/client.hpp"
#include "ecr/config.hpp"
#include "http/transport.hpp"

namespace ecr::api {

class ClientFactory {
 public:
  // Resolves `config` as Client's public constructor does and sends through
  // `transport`. Throws InputError for a null transport or when no region or
  // credentials are found.
  static Client over(ClientConfig config, std::shared_ptr<http::Transport> transport);
  // Client's public constructor: over libcurl, trusting the CA bundle
  // `config` resolves to.
  static Client over_curl(ClientConfig config);

 private:
  static Client over(ClientConfig config, ResolvedConfig resolved,
                     std::shared_ptr<http::Transport> transport);
};

}  // namespace ecr::api
