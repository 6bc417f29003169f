// The awsJson1_1 protocol: POST / with X-Amz-Target, SigV4-signed, retried per
// the standard retry mode, error documents decoded from `__type`.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "aws/retry.hpp"
#include "ecr/config.hpp"
#include "ecr/digest.hpp"
#include "http/transport.hpp"

namespace ecr::aws {

// Turns an error answer into an exception and throws it. `name` is already
// stripped of any '#' prefix and ':' suffix; `body` is the raw error document
// (so modeled fields such as lastValidByteReceived can be read from it). Must
// throw (a ServiceError or a subclass); returning is a programming error.
using ErrorThrower =
    std::function<void(const std::string& name, const std::string& message, int http_status,
                       const std::string& request_id, std::string_view body)>;

struct JsonServiceInfo {
  std::string target_prefix;  // "AmazonEC2ContainerRegistry_V20150921"
  std::string signing_name;   // "ecr"
};

class JsonProtocolClient {
 public:
  // `config` is already resolved. `throw_error` maps error names to types.
  // A policy of its own with `max_attempts` (throws InputError when < 1).
  JsonProtocolClient(std::shared_ptr<http::Transport> transport, ResolvedConfig config,
                     JsonServiceInfo service, ErrorThrower throw_error, int max_attempts = 3,
                     std::function<void(const std::string&)> debug = {});
  // Retries per `retry`, which may be shared with other clients (its quota
  // then covers them all) and carries the sleep/random seams for tests.
  JsonProtocolClient(std::shared_ptr<http::Transport> transport, ResolvedConfig config,
                     JsonServiceInfo service, ErrorThrower throw_error,
                     std::shared_ptr<RetryPolicy> retry,
                     std::function<void(const std::string&)> debug = {});

  // Sends `body` (a JSON object; "{}" for empty input) to `operation`,
  // retrying retryable failures with backoff, and returns the 2xx body.
  // Each attempt is signed afresh (a new X-Amz-Date), with the local clock
  // plus the process-wide clock correction (clock_skew.hpp). An answer that
  // shows clock skew sets that correction and is answered by signing again
  // and sending once more, without spending one of the retry policy's
  // attempts; once per call. Throws what
  // `throw_error` throws for error answers; a ServiceError named "HTTP <status>"
  // when the answer carries no error name (e.g. an HTML page from a proxy);
  // TransportError when the last attempt got no answer. A ServiceError
  // carries `operation` and the attempts made (ServiceError::set_call). The
  // debug callback
  // gets each request and response line by line, signature and session token
  // redacted, bodies cut at 4 KiB.
  std::string call(std::string_view operation, std::string_view body);
  // The same, for a body whose SHA-256 (the SigV4 payload hash) the caller
  // has already taken, e.g. while writing it.
  std::string call(std::string_view operation, std::string_view body, const Digest& body_sha256);
  // One attempt, without retrying: for a caller that retries on its own
  // terms (an upload part resumed from lastValidByteReceived, whose retries
  // follow progress; see RetryPolicy::prepare_resume), except that an answer
  // showing a skewed clock is signed again and sent once more, as call() does.
  // Throws as call() does.
  std::string call_once(std::string_view operation, std::string_view body,
                        const Digest& body_sha256);
  // The same for a body made as it is sent (a part's body encoded as it goes
  // out); `body` outlives the call.
  std::string call_once(std::string_view operation, const http::BodySource& body,
                        const Digest& body_sha256);

  // The local clock, to which signing adds the process-wide correction
  // (clock_skew.hpp); a test seam (default: the system clock).
  using Clock = std::function<std::chrono::system_clock::time_point()>;
  void set_signing_clock(Clock clock) { clock_ = std::move(clock); }

  const ResolvedConfig& config() const noexcept { return config_; }
  http::Transport& transport() noexcept { return *transport_; }
  RetryPolicy& retry_policy() noexcept { return *retry_; }

 private:
  struct ErrorAnswer;

  // One signed request. With `may_correct_clock`, an answer that shows
  // clock skew updates the process-wide correction and throws an internal
  // signal (not an ecr::Error) that makes call() send again.
  // The body is `body`, or what `source` makes when it is not null.
  std::string attempt(const std::string& target, std::string_view body,
                      const http::BodySource* source, const std::string& payload_hash,
                      bool may_correct_clock);
  std::string once(std::string_view operation, std::string_view body,
                   const http::BodySource* source, const Digest& body_sha256);
  static ErrorAnswer read_error_answer(const http::Response& response);
  [[noreturn]] void throw_error_answer(const http::Response& response, const ErrorAnswer& answer);

  std::shared_ptr<http::Transport> transport_;
  ResolvedConfig config_;
  JsonServiceInfo service_;
  ErrorThrower throw_error_;
  std::shared_ptr<RetryPolicy> retry_;
  std::function<void(const std::string&)> debug_;
  Clock clock_;
};

// The system clock plus `shift`: a machine whose clock is wrong, for tests
// (ClientConfig::test_clock_shift).
JsonProtocolClient::Clock shifted_system_clock(std::chrono::seconds shift);

}  // namespace ecr::aws
