// The sockets of ecr-local's HTTP face: an event-driven HTTP/1.1 listener on
// Boost.Asio and Boost.Beast that feeds HttpRoutes (http_exchange.hpp).
//
// A few I/O threads accept connections, read headers and bodies, write
// responses and run the timers; a route's handle(), a streamed body's
// write()s and the file reads of a download run on a separate pool of
// handler threads, so a slow or idle client costs a socket and a few
// kilobytes, never a thread. Per connection:
//   - waiting for a request: closed after `idle_timeout` without a byte;
//   - once a request's first byte arrives: its header must be complete
//     within `header_timeout` from that byte, however it trickles in
//     (slowloris), and at most `max_header_bytes`, with a request-target of
//     at most `max_target_bytes` (414), at most `max_header_fields` fields
//     and none over `max_header_field_bytes` (431);
//   - a buffered body (BodyPlan::kBuffer): read in steps of up to
//     kBodyReadBytes straight into the request's scratch buffer, which grows
//     with the bytes that arrived, not with the Content-Length claimed;
//     hashed (SHA-256) as it arrives;
//   - a streamed body (BodyPlan::kStream): read into one of two 1 MiB
//     buffers, allocated when its first bytes arrive, while a handler
//     thread passes the other, full, to the route's BodyStream; reading
//     pauses while both are full, so a body of any size costs 2 MiB; not
//     hashed;
//   - either kind of body: closed after `body_timeout` without progress
//     (no minimum rate: a body whose bytes keep coming is read however
//     slowly they come);
//   - a response: closed after `write_timeout` without progress.
// Pipelined requests are answered in order, one at a time. Connections past
// `max_connections` get a 503 and are closed.
//
// Given a certificate and a key (ListenerOptions::tls_*), every connection is
// TLS (1.2 or later): the handshake must be done within `header_timeout` of
// the connection, and everything above then works as over plain TCP, except
// that a connection over the cap is closed without a 503, and a connection
// the server ends sends a close_notify (see docs/ecr-local.md, TLS).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>

#include "server/http_exchange.hpp"
#include "server/request_scratch.hpp"

namespace boost::asio {
class io_context;
class thread_pool;
namespace ssl {
class context;
}  // namespace ssl
}  // namespace boost::asio

namespace ecr::server {

// The defaults are documented in docs/ecr-local.md; ecr-local's flags set
// most of them.
struct ListenerOptions {
  // Threads running the event loop (accept, read, hash bodies, write): two
  // keep a 1.6 GB/s SHA-256 of incoming parts from being the bottleneck on
  // a small machine without idling more threads than there are cores.
  std::size_t io_threads = 2;
  // Threads running routes' handle(): these block on SQLite and fsync, and
  // only requests whose body is in hold one, so a few cover the client's
  // parallel part uploads plus its control-plane calls.
  std::size_t handler_threads = 16;
  // Between requests on a keep-alive connection (and before the first).
  // Longer than client pools' idle times (botocore, curl: none or minutes
  // below this) would hold sockets for nothing; shorter makes clients race
  // a close on reuse.
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(60)};
  // From a request's first byte to the end of its header.
  std::chrono::milliseconds header_timeout{std::chrono::seconds(30)};
  // Without a byte of the body arriving.
  std::chrono::milliseconds body_timeout{std::chrono::seconds(30)};
  // Without a byte of the response being taken by the client.
  std::chrono::milliseconds write_timeout{std::chrono::seconds(60)};
  // Connections served at once; more are answered 503 and closed. Each
  // costs a descriptor and, idle, a few hundred bytes.
  std::size_t max_connections = 10'000;
  // A request header larger than this is refused with 431. SigV4 headers
  // with a session token are ~3 KB.
  std::size_t max_header_bytes = 32 * 1024;
  // A request-target (path and query) longer than this is refused with 414,
  // Apache's LimitRequestLine and nginx's buffer for it: ECR's longest
  // targets are registry API paths (a 256-byte repository name and a
  // digest) and download URLs (a few hundred bytes).
  std::size_t max_target_bytes = 8 * 1024;
  // More header fields than this are refused with 431 (Apache's
  // LimitRequestFields): SDKs send about ten, docker and curl fewer; each
  // field costs the parser's node and the request's copy of it.
  std::size_t max_header_fields = 100;
  // A field ("Name: value") longer than this is refused with 431. Twice
  // Apache's LimitRequestFieldSize: AWS bounds no session token's size
  // (X-Amz-Security-Token), and those seen are a few KiB.
  std::size_t max_header_field_bytes = 16 * 1024;
  // Both set: serve https, presenting the PEM certificate chain (the
  // server's certificate first) with the PEM private key. Both empty: plain
  // http. See make_tls_context (tls_context.hpp).
  std::filesystem::path tls_certificate_file;
  std::filesystem::path tls_private_key_file;
};

class HttpListener {
 public:
  // Raises this process's RLIMIT_NOFILE soft limit to its hard limit so that
  // max_connections fit; the cap actually used is the smaller of
  // max_connections and what the limit leaves (see connection_cap()).
  // `routes` and `scratch` must outlive the listener. Loads the TLS
  // certificate and key when given; throws InputError naming the file when
  // one cannot be used, or when only one of the two is given.
  HttpListener(ListenerOptions options, HttpRoutes& routes, ScratchPool& scratch);
  // Stops, joins the handler threads and closes every connection.
  ~HttpListener();
  HttpListener(const HttpListener&) = delete;
  HttpListener& operator=(const HttpListener&) = delete;

  // Binds `host`:`port` (0: any free port) and listens; returns the port.
  // Throws InputError when the address cannot be bound.
  int bind(const std::string& host, int port);
  // Serves on this thread and io_threads - 1 more until stop(); then waits
  // for handlers already running (their responses are not sent) and
  // returns. Connections still open are closed when the listener goes.
  void run();
  // Thread-safe, also before run(); makes run() return promptly.
  void stop();

  std::size_t connection_cap() const noexcept { return connection_cap_; }

 private:
  // One connection over Stream: plain TCP or TLS (http_session.hpp).
  template <class Stream>
  class Session;
  void accept();
  void refuse_connection(int fd);

  ListenerOptions options_;
  HttpRoutes& routes_;
  ScratchPool& scratch_;
  std::size_t connection_cap_ = 0;
  std::atomic<std::size_t> connections_{0};
  std::unique_ptr<boost::asio::ssl::context> tls_;  // null: plain http
  std::unique_ptr<boost::asio::thread_pool> handlers_;
  std::unique_ptr<boost::asio::io_context> io_;
  struct Acceptor;
  std::unique_ptr<Acceptor> acceptor_;
};

}  // namespace ecr::server
