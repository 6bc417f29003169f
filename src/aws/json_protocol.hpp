// The awsJson1_1 protocol: POST / with X-Amz-Target, SigV4-signed, retried per
// the standard retry mode, error documents decoded from `__type`.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "ecr/config.hpp"
#include "http/transport.hpp"

namespace ecr::aws {

// Turns an error answer into an exception and throws it. `name` is already
// stripped of any '#' prefix and ':' suffix; `body` is the raw error document
// (so modeled fields such as lastValidByteReceived can be read from it). Must
// throw (a ServiceError or a subclass); returning is a programming error.
using ErrorThrower = std::function<void(const std::string& name, const std::string& message,
                                        int http_status, const std::string& request_id,
                                        std::string_view body)>;

struct JsonServiceInfo {
  std::string target_prefix;  // "AmazonEC2ContainerRegistry_V20150921"
  std::string signing_name;   // "ecr"
};

class JsonProtocolClient {
 public:
  // `config` is already resolved. `throw_error` maps error names to types.
  JsonProtocolClient(std::shared_ptr<http::Transport> transport, ResolvedConfig config,
                     JsonServiceInfo service, ErrorThrower throw_error, int max_attempts = 3,
                     std::function<void(const std::string&)> debug = {});

  // Sends `body` (a JSON object; "{}" for empty input) to `operation`,
  // retrying retryable failures with backoff, and returns the 2xx body.
  // Throws what `throw_error` throws for error answers, TransportError when
  // every attempt failed to get an answer.
  std::string call(std::string_view operation, std::string_view body);

  const ResolvedConfig& config() const noexcept { return config_; }
  http::Transport& transport() noexcept { return *transport_; }

 private:
  std::shared_ptr<http::Transport> transport_;
  ResolvedConfig config_;
  JsonServiceInfo service_;
  ErrorThrower throw_error_;
  int max_attempts_;
  std::function<void(const std::string&)> debug_;
};

}  // namespace ecr::aws
