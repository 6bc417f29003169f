// A TCP proxy on 127.0.0.1 that sits between a client (ecr-push, ecr-pull)
// and an upstream HTTP/1.1 server (ecr-local) and breaks one exchange on
// purpose, for tests of the transfer engine's fault paths:
//
//   FaultProxy proxy;                                     // listening already
//   EcrLocalServer server({"--public-url", proxy.url()}); // download URLs too
//   proxy.set_upstream_port(server.port());
//   proxy.drop_during_request("UploadLayerPart", 3 << 20, /*skip=*/1);
//   ... run ecr-push --endpoint-url proxy.url() ...
//   EXPECT_EQ(proxy.fired(), 1);
//
// Each armed fault fires once, on the first request whose head (request line
// and headers) contains its `match` string and whose body is long enough,
// after letting `skip` such requests through. The proxy parses just enough HTTP/1.1 to find bodies:
// request and response heads, Content-Length, 1xx interim responses,
// responses without a body (HEAD, 204, 304). A message framed otherwise
// (chunked) is forwarded untouched and no fault fires inside it.
//
// Connections are kept alive and forwarded both ways by one thread each; a
// connection idle for `kIdleTimeout` (a stalled one included) is closed, and the destructor closes
// every connection and joins every thread, so a confused client or server
// can never hang a test.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace ecr::testing {

class FaultProxy {
 public:
  // A connection with no traffic either way for this long is closed.
  static constexpr std::chrono::seconds kIdleTimeout{60};

  enum class FaultKind {
    // Closes both sides (with a reset) once more than `offset` body bytes of
    // the request went upstream: the server sees a truncated request, the
    // client a connection reset while it sends.
    kDropRequest,
    // Forwards `offset` body bytes of the (2xx) response, then closes both
    // sides: the client sees a body that ends early.
    kDropResponse,
    // Flips every bit of the body byte at `offset` of the (2xx) response.
    kCorruptResponse,
    // Once more than `offset` body bytes of the request went upstream, the
    // connection goes silent both ways and stays open: the server waits for
    // the rest of the request, the client for its send buffer to drain and
    // for an answer. A peer that hangs mid-upload, for cancellation tests.
    kStallRequest,
    // Forwards `offset` body bytes of the (2xx) response, then goes silent
    // both ways and keeps the connection open: a download that hangs.
    kStallResponse,
  };

  struct Fault {
    FaultKind kind = FaultKind::kDropRequest;
    // A request matches when its head contains this string (e.g.
    // "UploadLayerPart", "GET /blobs/sha256/<hex>") and its body has at
    // least `min_request_body` bytes: a kDropRequest fault needs more than
    // `offset`, whatever this says.
    std::string match;
    std::int64_t offset = 0;
    // Matching requests let through before the one the fault hits.
    int skip = 0;
    std::int64_t min_request_body = 0;
  };

  // Listens on 127.0.0.1 at a port the kernel picks. Connections accepted
  // before an upstream port is set are closed. Throws std::runtime_error
  // when no socket can be set up.
  explicit FaultProxy(int upstream_port = 0);
  // Closes every connection and joins every thread.
  ~FaultProxy();
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  // Where new connections go: 127.0.0.1:<port>.
  void set_upstream_port(int port);

  int port() const noexcept { return port_; }
  // "http://127.0.0.1:<port>".
  std::string url() const;

  void arm(Fault fault);
  void drop_during_request(std::string match, std::int64_t body_bytes, int skip = 0) {
    arm({FaultKind::kDropRequest, std::move(match), body_bytes, skip});
  }
  void drop_during_response(std::string match, std::int64_t body_bytes, int skip = 0) {
    arm({FaultKind::kDropResponse, std::move(match), body_bytes, skip});
  }
  void corrupt_response(std::string match, std::int64_t body_offset, int skip = 0) {
    arm({FaultKind::kCorruptResponse, std::move(match), body_offset, skip});
  }
  void stall_during_request(std::string match, std::int64_t body_bytes, int skip = 0) {
    arm({FaultKind::kStallRequest, std::move(match), body_bytes, skip});
  }
  void stall_during_response(std::string match, std::int64_t body_bytes, int skip = 0) {
    arm({FaultKind::kStallResponse, std::move(match), body_bytes, skip});
  }

  // From now on, resets connections at random: after each gap of bytes
  // forwarded (both directions, all connections together) drawn from an
  // exponential distribution with a mean of 100 MiB / `per_100_mib`, the
  // connection carrying the byte that ends the gap is reset both ways. The
  // draws come from `seed`, so a run's gaps are reproducible (which request
  // they hit depends on timing). Each reset counts in fired(). 0 stops it.
  void reset_randomly(double per_100_mib, std::uint64_t seed);

  // Faults fired so far: a test asserts this, so that it cannot pass
  // without the fault it is about.
  int fired() const noexcept { return fired_.load(); }
  // Connections accepted so far.
  int connections() const noexcept { return connections_.load(); }

 private:
  friend class ProxyConnection;

  // Takes the first armed fault of the request side (kDropRequest,
  // kStallRequest) or the response side that matches a request, counting its skips down.
  bool claim(const std::string& head, std::int64_t body_size, bool response_side, Fault& out);
  // A claimed response fault whose response did not qualify (not 2xx, too
  // short, connection gone) is armed again, ahead of the others.
  void unclaim(Fault fault);
  void record_fired() { fired_.fetch_add(1); }
  // Counts `bytes` forwarded; true when a random reset is due on the
  // connection that forwarded them.
  bool random_reset_due(std::size_t bytes);

  void accept_loop();

  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<int> upstream_port_{0};
  // Written once by the destructor; every thread polls its read end.
  int stop_pipe_[2] = {-1, -1};
  std::atomic<int> fired_{0};
  std::atomic<int> connections_{0};

  mutable std::mutex mutex_;
  std::vector<Fault> faults_;  // armed, in arming order
  // reset_randomly's state, under mutex_: the mean gap (0: off), the bytes
  // left before the next reset, and the draws.
  double reset_mean_bytes_ = 0;
  double bytes_to_reset_ = 0;
  std::mt19937_64 reset_draws_;
  std::vector<std::thread> workers_;
  std::thread acceptor_;
};

}  // namespace ecr::testing
