// The one error vocabulary of the library.
//
// Every failure inside libecr and at its public surface is an exception derived
// from ecr::Error. Five kinds exist:
//   - ServiceError:   the registry answered with an error (carries the AWS error
//                     name from the model, e.g. "RepositoryNotFoundException").
//   - TransportError: the request never got an answer (DNS, connect, reset,
//                     timeout, TLS, response too large).
//   - InputError:     something the caller or an outside file gave us is invalid
//                     (a bad reference, a malformed manifest, a failed validation).
//   - IntegrityError: bytes do not match the digest or size they claim.
//   - Cancelled:      the caller asked a transfer to stop (TransferOptions::cancel).
// Batch operations that report failures as data (`failures` lists) do not throw.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace ecr {

enum class ErrorKind { kService, kTransport, kInput, kIntegrity, kCancelled };

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& what) : std::runtime_error(what), kind_(kind) {}
  ErrorKind kind() const noexcept { return kind_; }

 private:
  ErrorKind kind_;
};

// An error answer from the service. `name()` is the AWS error code with any
// namespace prefix (before '#') and suffix (after ':') stripped.
class ServiceError : public Error {
 public:
  ServiceError(std::string name, std::string message, int http_status = 400,
               std::string request_id = {})
      : Error(ErrorKind::kService, name + ": " + message),
        name_(std::move(name)),
        message_(std::move(message)),
        http_status_(http_status),
        request_id_(std::move(request_id)) {}

  const std::string& name() const noexcept { return name_; }
  const std::string& message() const noexcept { return message_; }
  int http_status() const noexcept { return http_status_; }
  const std::string& request_id() const noexcept { return request_id_; }

  // True when the AWS standard retry policy retries this error: throttling
  // codes, transient codes and HTTP 5xx.
  bool retryable() const noexcept;

  // The API operation that answered with this error ("PutImage") and the
  // attempts the client made, retries included, when the error came back
  // from a client call; "" and 0 for an error made otherwise.
  const std::string& operation() const noexcept { return operation_; }
  int attempts() const noexcept { return attempts_; }
  // Records the call the error ended. For a throttling error (see
  // is_throttling_error; LimitExceededException, which ECR answers for a
  // quota such as images per repository, is retried like one but is not
  // called throttled) what() then says so: "PutImage was throttled by the
  // registry (ThrottlingException: Rate exceeded) after 3 attempts".
  void set_call(std::string operation, int attempts);
  // True when set_call found the call throttled.
  bool throttled() const noexcept { return !throttled_.empty(); }

  // "<name>: <message>", or the throttling sentence above.
  const char* what() const noexcept override;

 private:
  std::string name_;
  std::string message_;
  int http_status_;
  std::string request_id_;
  std::string operation_;
  int attempts_ = 0;
  std::string throttled_;  // the throttling sentence; empty when not throttled
};

class TransportError : public Error {
 public:
  // `timeout` marks a timed-out request (the retry quota charges those more).
  explicit TransportError(const std::string& what, bool timeout = false)
      : Error(ErrorKind::kTransport, what), timeout_(timeout) {}
  bool timeout() const noexcept { return timeout_; }
  bool retryable() const noexcept { return true; }

 private:
  bool timeout_;
};

class InputError : public Error {
 public:
  explicit InputError(const std::string& what) : Error(ErrorKind::kInput, what) {}
};

class IntegrityError : public Error {
 public:
  explicit IntegrityError(const std::string& what) : Error(ErrorKind::kIntegrity, what) {}
};

// A transfer stopped because its cancel flag was set (TransferOptions::cancel).
// Whatever the cancel interrupted (a request aborted in flight, a retry cut
// short) is reported as this, not as a transport failure. Nothing is committed
// to a local destination when it is thrown.
class Cancelled : public Error {
 public:
  Cancelled() : Error(ErrorKind::kCancelled, "transfer cancelled") {}
};

// True for the error codes the AWS standard retry mode treats as throttling
// (ThrottlingException, TooManyRequestsException, SlowDown, ...). A retry policy
// uses this to tell "back off" from "try again".
bool is_throttling_error(std::string_view name) noexcept;
// True for the error codes the AWS standard retry mode treats as transient
// (RequestTimeout, RequestTimeoutException, PriorRequestNotComplete).
bool is_transient_error(std::string_view name) noexcept;

}  // namespace ecr
