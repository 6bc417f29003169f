#include "support/fault_proxy.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <utility>

namespace ecr::testing {
namespace {

// Bytes read from a socket at a time; also the most a direction buffers,
// since a side is read only when what it sent before has gone out.
constexpr std::size_t kChunkBytes = 64 * 1024;
// A request or response head longer than this is not HTTP this proxy
// understands: the connection is forwarded without parsing from there on.
constexpr std::size_t kMaxHeadBytes = 64 * 1024;

[[noreturn]] void throw_errno(const std::string& what) {
  throw std::runtime_error("FaultProxy: " + what + ": " + std::strerror(errno));
}

// Owns one socket.
class Socket {
 public:
  Socket() = default;
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket() { close(); }
  Socket(Socket&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Socket& operator=(Socket&& other) noexcept {
    if (this != &other) {
      close();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  // Closes with a TCP reset instead of an orderly FIN: the peer sees
  // ECONNRESET, as when a connection breaks in a real network.
  void reset() {
    if (fd_ < 0) return;
    linger l{1, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    close();
  }

 private:
  int fd_ = -1;
};

sockaddr_in loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  return addr;
}

void set_nonblocking_nodelay(int fd) {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  // Small heads and acknowledgements would otherwise wait for delayed ACKs
  // (40 ms each), as in ecr-local itself.
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

Socket connect_upstream(int port) {
  Socket s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (s.get() < 0) return {};
  const sockaddr_in addr = loopback(port);
  int rc;
  do {
    rc = ::connect(s.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) return {};
  set_nonblocking_nodelay(s.get());
  return s;
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The value of header `name` (lower case) in a head, or nullopt.
std::optional<std::string> header_value(const std::string& head_lower, std::string_view name) {
  const std::string key = "\r\n" + std::string(name) + ":";
  const auto at = head_lower.find(key);
  if (at == std::string::npos) return std::nullopt;
  auto begin = at + key.size();
  const auto end = head_lower.find("\r\n", begin);
  while (begin < end && (head_lower[begin] == ' ' || head_lower[begin] == '\t')) ++begin;
  auto last = end;
  while (last > begin && (head_lower[last - 1] == ' ' || head_lower[last - 1] == '\t')) --last;
  return head_lower.substr(begin, last - begin);
}

// Where a message's body ends: its length, or nullopt when it is framed
// some other way (chunked, or up to the close of the connection).
std::optional<std::int64_t> content_length(const std::string& head) {
  const std::string h = lower(head);
  if (header_value(h, "transfer-encoding")) return std::nullopt;
  const auto value = header_value(h, "content-length");
  if (!value) return std::nullopt;
  if (value->empty() || value->size() > 18 ||
      !std::all_of(value->begin(), value->end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  return std::stoll(*value);
}

// Reassembles a message head from the bytes of one direction. feed() takes
// bytes up to and including the blank line that ends the head.
class HeadReader {
 public:
  // Consumes the prefix of `data` that belongs to the head; returns how many
  // bytes that is. complete() tells whether the head ended within them.
  std::size_t feed(std::string_view data) {
    const std::size_t before = head_.size();
    head_.append(data.substr(0, std::min(data.size(), kMaxHeadBytes + 4 - before)));
    const auto end = head_.find("\r\n\r\n", before >= 3 ? before - 3 : 0);
    if (end == std::string::npos) return head_.size() - before;
    head_.resize(end + 4);
    complete_ = true;
    return head_.size() - before;
  }
  bool complete() const { return complete_; }
  bool too_long() const { return !complete_ && head_.size() >= kMaxHeadBytes; }
  std::string take() {
    complete_ = false;
    return std::exchange(head_, {});
  }

 private:
  std::string head_;
  bool complete_ = false;
};

}  // namespace

// One proxied connection: the client's socket, the upstream socket and the
// HTTP framing of both directions.
class ProxyConnection {
 public:
  ProxyConnection(FaultProxy& proxy, Socket client, Socket upstream, int stop_fd)
      : proxy_(proxy),
        client_(std::move(client)),
        upstream_(std::move(upstream)),
        stop_fd_(stop_fd) {}

  ~ProxyConnection() {
    // Faults claimed by exchanges that ended before the fault's byte came
    // are armed again, for the client's retry.
    for (auto& exchange : exchanges_) {
      if (exchange.fault) proxy_.unclaim(std::move(*exchange.fault));
    }
    if (response_fault_) proxy_.unclaim(std::move(*response_fault_));
    if (request_fault_) proxy_.unclaim(std::move(*request_fault_));
  }

  void run() {
    bool client_eof = false;
    bool upstream_eof = false;
    bool upstream_write_shut = false;
    for (;;) {
      const bool flush_only = close_after_flush_;
      // A stalled connection still sends what it let through, and reads nothing more.
      const bool reads = !flush_only && !stalled_;
      pollfd fds[3] = {
          {client_.get(),
           static_cast<short>((!client_eof && to_upstream_.empty() && reads ? POLLIN : 0) |
                              (!to_client_.empty() ? POLLOUT : 0)),
           0},
          {upstream_.get(),
           static_cast<short>((!upstream_eof && to_client_.empty() && reads ? POLLIN : 0) |
                              (!to_upstream_.empty() && !flush_only ? POLLOUT : 0)),
           0},
          {stop_fd_, POLLIN, 0}};
      for (int i = 0; i < 2; ++i) {
        if (fds[i].events == 0) fds[i].fd = -1;
      }
      const int rc = ::poll(
          fds, 3, static_cast<int>(std::chrono::milliseconds(FaultProxy::kIdleTimeout).count()));
      if (rc < 0 && errno == EINTR) continue;
      if (rc <= 0 || fds[2].revents != 0) return;  // idle, failed, or the proxy stops

      char chunk[kChunkBytes];
      if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) && (fds[0].events & POLLIN)) {
        const ssize_t n = ::recv(client_.get(), chunk, sizeof chunk, 0);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n < 0) return;
        if (n > 0 && proxy_.random_reset_due(static_cast<std::size_t>(n))) {
          client_.reset();
          upstream_.reset();
          return;
        }
        if (n == 0) {
          client_eof = true;
        } else if (!from_client(std::string_view(chunk, static_cast<std::size_t>(n)))) {
          client_.reset();
          upstream_.reset();
          return;
        }
      }
      if ((fds[1].revents & (POLLIN | POLLHUP | POLLERR)) && (fds[1].events & POLLIN)) {
        const ssize_t n = ::recv(upstream_.get(), chunk, sizeof chunk, 0);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n < 0) return;
        if (n > 0 && proxy_.random_reset_due(static_cast<std::size_t>(n))) {
          client_.reset();
          upstream_.reset();
          return;
        }
        if (n == 0) {
          upstream_eof = true;
        } else {
          from_upstream(std::string_view(chunk, static_cast<std::size_t>(n)));
        }
      }
      if (!send_some(client_, to_client_) || !send_some(upstream_, to_upstream_)) return;

      if (close_after_flush_ && to_client_.empty()) {
        client_.reset();
        upstream_.reset();
        return;
      }
      if (client_eof && to_upstream_.empty() && !upstream_write_shut) {
        ::shutdown(upstream_.get(), SHUT_WR);
        upstream_write_shut = true;
      }
      // The server closed: once the client has everything, so does the proxy.
      if (upstream_eof && to_client_.empty()) return;
    }
  }

 private:
  struct Exchange {
    bool head_request = false;
    std::optional<FaultProxy::Fault> fault;  // a response fault for its answer
  };

  // Sends what the socket takes now; false when the peer is gone.
  static bool send_some(const Socket& to, std::string& pending) {
    if (pending.empty() || to.get() < 0) return true;
    const ssize_t n = ::send(to.get(), pending.data(), pending.size(), MSG_NOSIGNAL);
    if (n < 0) return errno == EAGAIN || errno == EINTR;
    pending.erase(0, static_cast<std::size_t>(n));
    return true;
  }

  // Queues client bytes for upstream; false when a request fault fired and
  // the connection must break now.
  bool from_client(std::string_view data) {
    while (!data.empty() && !stalled_) {
      if (!parse_requests_) {
        to_upstream_.append(data);
        return true;
      }
      if (request_body_left_ == 0) {
        const std::size_t used = request_head_.feed(data);
        to_upstream_.append(data.substr(0, used));
        data.remove_prefix(used);
        if (request_head_.too_long()) parse_requests_ = parse_responses_ = false;
        if (request_head_.complete()) start_request(request_head_.take());
        continue;
      }
      auto take = static_cast<std::size_t>(
          std::min<std::int64_t>(request_body_left_, static_cast<std::int64_t>(data.size())));
      if (request_fault_ &&
          request_body_done_ + static_cast<std::int64_t>(take) > request_fault_->offset) {
        const auto keep = static_cast<std::size_t>(request_fault_->offset - request_body_done_);
        to_upstream_.append(data.substr(0, keep));
        send_some(upstream_, to_upstream_);
        const bool stall = request_fault_->kind == FaultProxy::FaultKind::kStallRequest;
        request_fault_.reset();
        proxy_.record_fired();
        if (!stall) return false;
        stalled_ = true;
        return true;
      }
      to_upstream_.append(data.substr(0, take));
      data.remove_prefix(take);
      request_body_done_ += static_cast<std::int64_t>(take);
      request_body_left_ -= static_cast<std::int64_t>(take);
    }
    return true;
  }

  void start_request(const std::string& head) {
    const auto length = content_length(head);
    if (!length) {
      // "Transfer-Encoding: chunked" or no length: a body this proxy cannot
      // delimit. GET and HEAD without Content-Length have none.
      const bool bodiless = head.starts_with("GET ") || head.starts_with("HEAD ");
      if (!bodiless || lower(head).find("\r\ntransfer-encoding:") != std::string::npos) {
        parse_requests_ = parse_responses_ = false;
        return;
      }
    }
    request_body_left_ = length.value_or(0);
    request_body_done_ = 0;
    Exchange exchange;
    exchange.head_request = head.starts_with("HEAD ");
    FaultProxy::Fault fault;
    if (proxy_.claim(head, request_body_left_, false, fault)) request_fault_ = std::move(fault);
    if (proxy_.claim(head, request_body_left_, true, fault)) exchange.fault = std::move(fault);
    exchanges_.push_back(std::move(exchange));
  }

  // Queues upstream bytes for the client, applying a response fault.
  void from_upstream(std::string_view data) {
    while (!data.empty() && !close_after_flush_ && !stalled_) {
      if (!parse_responses_) {
        to_client_.append(data);
        return;
      }
      if (response_body_left_ == 0) {
        const std::size_t used = response_head_.feed(data);
        to_client_.append(data.substr(0, used));
        data.remove_prefix(used);
        if (response_head_.too_long()) parse_requests_ = parse_responses_ = false;
        if (response_head_.complete()) start_response(response_head_.take());
        continue;
      }
      const auto take = static_cast<std::size_t>(
          std::min<std::int64_t>(response_body_left_, static_cast<std::int64_t>(data.size())));
      const std::size_t start = to_client_.size();
      to_client_.append(data.substr(0, take));
      if (response_fault_) apply_response_fault(start, take);
      data.remove_prefix(take);
      response_body_done_ += static_cast<std::int64_t>(take);
      response_body_left_ -= static_cast<std::int64_t>(take);
      if (response_body_left_ == 0 && response_fault_) {
        proxy_.unclaim(std::move(*response_fault_));
        response_fault_.reset();
      }
    }
  }

  // The body bytes [response_body_done_, +take) sit at to_client_[start...].
  void apply_response_fault(std::size_t start, std::size_t take) {
    const std::int64_t at = response_fault_->offset - response_body_done_;
    if (at < 0 || at >= static_cast<std::int64_t>(take)) return;
    if (response_fault_->kind == FaultProxy::FaultKind::kCorruptResponse) {
      char& byte = to_client_[start + static_cast<std::size_t>(at)];
      byte = static_cast<char>(~static_cast<unsigned char>(byte));
    } else {
      to_client_.resize(start + static_cast<std::size_t>(at));
      if (response_fault_->kind == FaultProxy::FaultKind::kStallResponse) {
        stalled_ = true;
      } else {
        close_after_flush_ = true;
      }
    }
    response_fault_.reset();
    proxy_.record_fired();
  }

  void start_response(const std::string& head) {
    // "HTTP/1.1 200 OK": the status is the second field.
    const auto space = head.find(' ');
    const int status = space == std::string::npos ? 0 : std::atoi(head.c_str() + space + 1);
    if (status >= 100 && status < 200) return;  // interim (100 Continue): the answer follows
    if (exchanges_.empty()) {
      parse_requests_ = parse_responses_ = false;
      return;
    }
    Exchange exchange = std::move(exchanges_.front());
    exchanges_.pop_front();
    std::optional<std::int64_t> length = 0;
    if (!exchange.head_request && status != 204 && status != 304) length = content_length(head);
    if (!length) {
      if (exchange.fault) proxy_.unclaim(std::move(*exchange.fault));
      parse_requests_ = parse_responses_ = false;
      return;
    }
    response_body_left_ = *length;
    response_body_done_ = 0;
    if (exchange.fault) {
      if (status / 100 == 2 && exchange.fault->offset < *length) {
        response_fault_ = std::move(exchange.fault);
      } else {
        proxy_.unclaim(std::move(*exchange.fault));
      }
    }
  }

  FaultProxy& proxy_;
  Socket client_;
  Socket upstream_;
  int stop_fd_;
  std::string to_upstream_;
  std::string to_client_;
  bool close_after_flush_ = false;
  bool stalled_ = false;  // a stall fault fired: nothing more is read either way

  bool parse_requests_ = true;
  bool parse_responses_ = true;
  HeadReader request_head_;
  std::int64_t request_body_left_ = 0;
  std::int64_t request_body_done_ = 0;
  std::optional<FaultProxy::Fault> request_fault_;
  std::deque<Exchange> exchanges_;  // requests sent, responses pending
  HeadReader response_head_;
  std::int64_t response_body_left_ = 0;
  std::int64_t response_body_done_ = 0;
  std::optional<FaultProxy::Fault> response_fault_;
};

FaultProxy::FaultProxy(int upstream_port) : upstream_port_(upstream_port) {
  Socket listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (listener.get() < 0) throw_errno("socket");
  sockaddr_in addr = loopback(0);
  if (::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    throw_errno("bind 127.0.0.1:0");
  }
  if (::listen(listener.get(), 64) != 0) throw_errno("listen");
  socklen_t len = sizeof addr;
  if (::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw_errno("getsockname");
  }
  port_ = ntohs(addr.sin_port);
  if (::pipe2(stop_pipe_, O_CLOEXEC) != 0) throw_errno("pipe2");
  listen_fd_ = listener.release();
  acceptor_ = std::thread([this] { accept_loop(); });
}

FaultProxy::~FaultProxy() {
  const char stop = 's';
  ssize_t ignored = ::write(stop_pipe_[1], &stop, 1);
  (void)ignored;
  if (acceptor_.joinable()) acceptor_.join();
  for (auto& worker : workers_) worker.join();
  ::close(listen_fd_);
  ::close(stop_pipe_[0]);
  ::close(stop_pipe_[1]);
}

void FaultProxy::set_upstream_port(int port) { upstream_port_.store(port); }

std::string FaultProxy::url() const { return "http://127.0.0.1:" + std::to_string(port_); }

void FaultProxy::arm(Fault fault) {
  const std::lock_guard lock(mutex_);
  faults_.push_back(std::move(fault));
}

void FaultProxy::reset_randomly(double per_100_mib, std::uint64_t seed) {
  const std::lock_guard lock(mutex_);
  reset_mean_bytes_ = per_100_mib > 0 ? 100.0 * 1024 * 1024 / per_100_mib : 0;
  reset_draws_.seed(seed);
  bytes_to_reset_ =
      reset_mean_bytes_ > 0
          ? std::exponential_distribution<double>(1.0 / reset_mean_bytes_)(reset_draws_)
          : 0;
}

bool FaultProxy::random_reset_due(std::size_t bytes) {
  const std::lock_guard lock(mutex_);
  if (reset_mean_bytes_ <= 0) return false;
  bytes_to_reset_ -= static_cast<double>(bytes);
  if (bytes_to_reset_ > 0) return false;
  bytes_to_reset_ = std::exponential_distribution<double>(1.0 / reset_mean_bytes_)(reset_draws_);
  record_fired();
  return true;
}

bool FaultProxy::claim(const std::string& head, std::int64_t body_size, bool response_side,
                       Fault& out) {
  const std::lock_guard lock(mutex_);
  for (auto it = faults_.begin(); it != faults_.end(); ++it) {
    const bool request_fault =
        it->kind == FaultKind::kDropRequest || it->kind == FaultKind::kStallRequest;
    if (request_fault == response_side) continue;
    if (head.find(it->match) == std::string::npos || body_size < it->min_request_body) continue;
    if (request_fault && body_size <= it->offset) continue;
    if (it->skip > 0) {
      --it->skip;
      continue;
    }
    out = std::move(*it);
    faults_.erase(it);
    return true;
  }
  return false;
}

void FaultProxy::unclaim(Fault fault) {
  const std::lock_guard lock(mutex_);
  faults_.insert(faults_.begin(), std::move(fault));
}

void FaultProxy::accept_loop() {
  for (;;) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
    const int rc = ::poll(fds, 2, -1);
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0 || fds[1].revents != 0) return;
    Socket client(::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC));
    if (client.get() < 0) continue;
    connections_.fetch_add(1);
    const int port = upstream_port_.load();
    if (port == 0) continue;  // nowhere to go yet: the client sees a close
    Socket upstream = connect_upstream(port);
    if (upstream.get() < 0) continue;
    set_nonblocking_nodelay(client.get());
    const std::lock_guard lock(mutex_);
    workers_.emplace_back([this, c = std::move(client), u = std::move(upstream)]() mutable {
      ProxyConnection(*this, std::move(c), std::move(u), stop_pipe_[0]).run();
    });
  }
}

}  // namespace ecr::testing
