// The HTTP seam. Everything above src/http talks to servers through
// HttpTransport, so tests substitute a scripted fake and the real one (libcurl)
// is tested against real servers.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ecr/error.hpp"

namespace ecr::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

// Case-insensitive header lookup; the first match, or nullopt.
std::optional<std::string_view> find_header(const Headers& headers, std::string_view name);
// Header names (and other ASCII tokens) compared as HTTP does: ignoring case.
bool equal_ignoring_case(std::string_view a, std::string_view b);

// A request body made as it is sent, for a body the caller does not hold
// whole: an UploadLayerPart body is base64-encoded from the part's bytes as
// it goes out (transfer/layer_upload.hpp). Read from one thread at a time.
class BodySource {
 public:
  virtual ~BodySource() = default;
  virtual std::size_t size() const = 0;
  // Fills all of `out` with the body's bytes from `offset` on (offset +
  // out.size() <= size()). May throw ecr::Error subclasses; the send then
  // throws that error.
  virtual void read_at(std::size_t offset, std::span<char> out) const = 0;
};

struct Request {
  std::string method = "GET";
  std::string url;  // absolute: scheme://host[:port]/path?query
  Headers headers;  // sent as given; Host and Content-Length are derived
  // The body is not owned: it points into the caller's buffer and must
  // outlive the call. No copy is made.
  std::string_view body;
  // When set, the body is made by this source as it is sent (`body` is then
  // empty). Not owned; outlives the call.
  const BodySource* body_source = nullptr;
};

// The request's body, whichever way it is given: `body`, or all of what
// `body_source` makes (for test transports and logs of small bodies).
std::string body_text(const Request& request);

struct Response {
  int status = 0;
  Headers headers;
  std::string body;  // empty when the body went to a sink
};

// Receives a response body as it arrives. Returning false aborts the transfer
// (the send then throws TransportError "aborted by sink").
using BodySink = std::function<bool(std::string_view chunk)>;

struct TransportOptions {
  std::chrono::milliseconds connect_timeout{10'000};
  // The whole transfer may not stall: no byte moving either way for
  // `low_speed_time` (checked about once a second) aborts it with a retryable
  // timeout, TransportError "no byte moved for N s (the stall timeout)"; so
  // does an average below `low_speed_bytes` per second over libcurl's window
  // of a few seconds for `low_speed_time`. A fixed total timeout would kill
  // big layers. The default is ecr::kDefaultStallTimeout; clients set
  // ResolvedConfig::stall_timeout.
  std::int64_t low_speed_bytes = 1;
  std::chrono::seconds low_speed_time{15};
  // Buffered (non-sink) response bodies larger than this are refused.
  std::size_t max_response_bytes = 64u << 20;
  bool verify_tls = true;
  std::string ca_bundle;  // empty: the system default
  // When this reads true, a request about to start fails at once without
  // connecting, and one in flight is aborted (libcurl's progress callback
  // looks at it many times a second while bytes move and about once a second
  // while the peer is silent). Either way send() throws RequestAborted. This
  // is how a cancelled transfer stops waiting on a stalled peer instead of
  // sitting out the low-speed timeout. Not owned; null: never aborted.
  const std::atomic<bool>* abort = nullptr;
};

// A request stopped because TransportOptions::abort was set. The caller asked
// for it, so it is never retried (aws::RetryPolicy rethrows it at once).
class RequestAborted : public TransportError {
 public:
  explicit RequestAborted(const std::string& what) : TransportError(what) {}
};

class Transport {
 public:
  virtual ~Transport() = default;
  // Sends `request` and returns the response, whatever its status. Throws
  // TransportError when no response arrives (connect failure, reset, timeout,
  // TLS error, body over the cap), RequestAborted when the abort flag stops
  // it. Thread-safe: concurrent calls are allowed.
  virtual Response send(const Request& request) = 0;
  // As send(), but a 2xx body streams to `sink` instead of being buffered;
  // non-2xx bodies are still buffered (they are error documents).
  virtual Response send(const Request& request, const BodySink& sink) = 0;
};

// The libcurl transport: keeps connections alive and reuses them across calls
// (a pool of easy handles sharing a connection cache), honours the standard
// proxy variables (HTTPS_PROXY, HTTP_PROXY, NO_PROXY) and verifies TLS.
std::shared_ptr<Transport> make_curl_transport(const TransportOptions& options = {});

}  // namespace ecr::http
