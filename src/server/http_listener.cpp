#include "server/http_listener.hpp"

#include <pthread.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <csignal>
#include <limits>
#include <thread>
#include <vector>

#include "ecr/error.hpp"
#include "server/http_session.hpp"
#include "server/tls_context.hpp"

namespace ecr::server {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

// Descriptors kept free of connections: the listener, the database, blob
// files being written and read, the log.
constexpr std::size_t kReservedDescriptors = 128;
// How long an accept error (EMFILE, ENFILE) waits before the next accept.
constexpr std::chrono::milliseconds kAcceptRetry{100};

void raise_descriptor_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

std::size_t descriptor_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) {
    return std::numeric_limits<std::size_t>::max();
  }
  return static_cast<std::size_t>(limit.rlim_cur);
}

}  // namespace

struct HttpListener::Acceptor {
  explicit Acceptor(asio::io_context& io) : socket(io), retry(io) {}
  tcp::acceptor socket;
  asio::steady_timer retry;
};

namespace {

// The handler threads, with SIGPIPE blocked on each: they send files with
// sendfile(2) (http_session.cpp), which has no MSG_NOSIGNAL, and a peer that
// has gone must fail that call with EPIPE, not end the process. A signal a
// thread raises for itself stays pending on that thread while blocked.
// Threads take the mask of the thread that starts them, so it is set around
// the pool's construction and restored after.
std::unique_ptr<asio::thread_pool> make_handler_pool(std::size_t threads) {
  sigset_t pipe;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  sigset_t before;
  pthread_sigmask(SIG_BLOCK, &pipe, &before);
  auto pool = std::make_unique<asio::thread_pool>(threads);
  pthread_sigmask(SIG_SETMASK, &before, nullptr);
  return pool;
}

}  // namespace

HttpListener::HttpListener(ListenerOptions options, HttpRoutes& routes, ScratchPool& scratch)
    : options_(std::move(options)),
      routes_(routes),
      scratch_(scratch),
      handlers_(make_handler_pool(std::max<std::size_t>(1, options_.handler_threads))),
      io_(std::make_unique<asio::io_context>(
          static_cast<int>(std::max<std::size_t>(1, options_.io_threads)))),
      acceptor_(std::make_unique<Acceptor>(*io_)) {
  const bool has_certificate = !options_.tls_certificate_file.empty();
  if (has_certificate != !options_.tls_private_key_file.empty()) {
    throw InputError("TLS needs both a certificate file and a private key file");
  }
  if (has_certificate) {
    tls_ = make_tls_context(options_.tls_certificate_file, options_.tls_private_key_file);
  }
  raise_descriptor_limit();
  const std::size_t limit = descriptor_limit();
  const std::size_t available = limit > kReservedDescriptors ? limit - kReservedDescriptors : 1;
  connection_cap_ = std::min(options_.max_connections, available);
}

HttpListener::~HttpListener() {
  stop();
  // Sessions still referenced by queued handlers or by the context's
  // pending operations go with them; a session needs its context and this
  // listener's members, so the handler pool goes first, then the context.
  handlers_.reset();
  acceptor_.reset();
  io_.reset();
}

int HttpListener::bind(const std::string& host, int port) {
  try {
    tcp::resolver resolver(*io_);
    auto endpoints = resolver.resolve(host, std::to_string(port),
                                      tcp::resolver::passive | tcp::resolver::numeric_service);
    if (endpoints.empty()) throw InputError("no address for " + host);
    const tcp::endpoint endpoint = endpoints.begin()->endpoint();
    tcp::acceptor& acceptor = acceptor_->socket;
    acceptor.open(endpoint.protocol());
    acceptor.set_option(asio::socket_base::reuse_address(true));
    acceptor.bind(endpoint);
    acceptor.listen(asio::socket_base::max_listen_connections);
    return acceptor.local_endpoint().port();
  } catch (const boost::system::system_error& e) {
    throw InputError("cannot listen on " + host + ":" + std::to_string(port) + ": " + e.what());
  }
}

void HttpListener::accept() {
  acceptor_->socket.async_accept(
      asio::make_strand(*io_), [this](error_code ec, tcp::socket socket) {
        if (ec == asio::error::operation_aborted || !acceptor_->socket.is_open()) return;
        if (ec) {
          // Out of descriptors or a connection that died in the backlog: try
          // again shortly rather than spinning on the error.
          acceptor_->retry.expires_after(kAcceptRetry);
          acceptor_->retry.async_wait([this](error_code wait_ec) {
            if (!wait_ec) accept();
          });
          return;
        }
        if (connections_.load(std::memory_order_relaxed) >= connection_cap_) {
          refuse_connection(socket.release());
        } else {
          connections_.fetch_add(1, std::memory_order_relaxed);
          error_code ignored;
          // Responses go out in one write, but a download's pieces and a 100
          // Continue are small writes that must not wait for a delayed ACK.
          socket.set_option(tcp::no_delay(true), ignored);
          if (tls_) {
            std::make_shared<Session<TlsStream>>(*this, std::move(socket), *tls_)->start();
          } else {
            std::make_shared<Session<beast::tcp_stream>>(*this, std::move(socket))->start();
          }
        }
        accept();
      });
}

// Over the connection cap: a 503 written without waiting (a fresh socket's
// send buffer takes it whole) and the connection closed. Over TLS the
// connection is closed without one: a plaintext 503 reads as a protocol
// error to a TLS client, and a handshake to refuse it would spend the CPU
// the cap is there to save.
void HttpListener::refuse_connection(int fd) {
  if (tls_) {
    ::close(fd);
    return;
  }
  HttpRequest nothing;
  HttpResponse response;
  try {
    routes_.refuse(Refusal::kTooManyConnections, nothing, response);
  } catch (const std::exception&) {
    response = HttpResponse();
    response.status = 503;
  }
  const std::string message = serialize_head(response, false, false) + response.body;
  [[maybe_unused]] ssize_t sent =
      ::send(fd, message.data(), message.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  ::shutdown(fd, SHUT_WR);
  ::close(fd);
}

void HttpListener::run() {
  accept();
  std::vector<std::thread> more;
  for (std::size_t i = 1; i < options_.io_threads; ++i) more.emplace_back([this] { io_->run(); });
  io_->run();
  for (auto& t : more) t.join();
  // Handlers already running finish (their work is committed before it is
  // answered, so a client that gets no answer retries safely); queued ones
  // are dropped with their connections.
  handlers_->stop();
  handlers_->join();
}

void HttpListener::stop() { io_->stop(); }

}  // namespace ecr::server
