// wan_proxy: a TCP proxy on loopback that makes a link of a wide-area
// network for the transfer benchmark's `wan` profile, where the kernel has
// no netem: every byte crosses a link of `--rate-mbit` in each direction
// (shared by all connections, as one uplink and one downlink are) and
// arrives `--delay-ms` later, so a round trip costs twice that.
//
//   wan_proxy --target 127.0.0.1:PORT [--delay-ms 10] [--rate-mbit 1000]
//
// Prints "http://127.0.0.1:<port>" (its own listening address) on stdout
// once it listens, then forwards until SIGTERM or SIGINT. Each direction of
// each connection is one thread that reads what arrives and one that writes
// it out when the link has carried it: a chunk of n bytes occupies the link
// for n / rate after the link is free, then travels for the delay. At most
// kMaxInFlight bytes wait per direction of a connection (a socket buffer's
// worth); the reader then stops, and the sender feels the back-pressure as
// on a real link.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

// Bytes read from a socket at once.
constexpr std::size_t kChunkBytes = 64 * 1024;
// Bytes waiting per direction of a connection before the reader stops: 8 MiB
// is more than a 1 Gbit/s link holds in a 20 ms round trip (2.5 MB), so the
// proxy never limits below the link it models.
constexpr std::size_t kMaxInFlight = 8 * 1024 * 1024;

std::atomic<bool> g_stop{false};
extern "C" void on_signal(int) { g_stop.store(true); }

// One direction of the link, shared by every connection.
class Link {
 public:
  Link(double bytes_per_second, Clock::duration delay)
      : bytes_per_second_(bytes_per_second), delay_(delay) {}

  // When `n` bytes handed to the link now arrive at the far end.
  Clock::time_point arrival(std::size_t n) {
    const std::lock_guard lock(mutex_);
    const auto now = Clock::now();
    const auto start = std::max(now, free_at_);
    free_at_ = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(
                           static_cast<double>(n) / bytes_per_second_));
    return free_at_ + delay_;
  }

 private:
  std::mutex mutex_;
  double bytes_per_second_;
  Clock::duration delay_;
  Clock::time_point free_at_{};
};

// Chunks in flight from one socket to another.
class Pipe {
 public:
  // Queues `bytes` to be written at `due`; waits while the pipe is full.
  // False once the pipe is closed.
  bool push(std::string bytes, Clock::time_point due) {
    std::unique_lock lock(mutex_);
    room_.wait(lock, [&] { return closed_ || queued_ < kMaxInFlight; });
    if (closed_) return false;
    queued_ += bytes.size();
    chunks_.push_back({std::move(bytes), due});
    ready_.notify_one();
    return true;
  }

  // The next chunk once it is due; empty at the end (the reader finished and
  // everything was delivered, or the pipe was closed).
  std::string pop() {
    std::unique_lock lock(mutex_);
    for (;;) {
      if (closed_) return {};
      if (chunks_.empty()) {
        if (finished_) return {};
        ready_.wait(lock);
        continue;
      }
      const auto due = chunks_.front().due;
      if (Clock::now() >= due) break;
      ready_.wait_until(lock, due);
    }
    std::string bytes = std::move(chunks_.front().bytes);
    chunks_.pop_front();
    queued_ -= bytes.size();
    room_.notify_one();
    return bytes;
  }

  // The reader saw the end: deliver what is queued, then end.
  void finish() {
    const std::lock_guard lock(mutex_);
    finished_ = true;
    ready_.notify_all();
  }
  // Gives up: nothing more is delivered or accepted.
  void close() {
    const std::lock_guard lock(mutex_);
    closed_ = true;
    ready_.notify_all();
    room_.notify_all();
  }

 private:
  struct Chunk {
    std::string bytes;
    Clock::time_point due;
  };
  std::mutex mutex_;
  std::condition_variable ready_;
  std::condition_variable room_;
  std::deque<Chunk> chunks_;
  std::size_t queued_ = 0;
  bool finished_ = false;
  bool closed_ = false;
};

bool write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// One direction of one connection: `from` -> link -> `to`.
void forward(int from, int to, Link& link) {
  Pipe pipe;
  std::thread writer([&] {
    for (std::string bytes; !(bytes = pipe.pop()).empty();) {
      if (!write_all(to, bytes)) {
        pipe.close();
        break;
      }
    }
    ::shutdown(to, SHUT_WR);
  });
  std::string buffer(kChunkBytes, '\0');
  for (;;) {
    const ssize_t n = ::recv(from, buffer.data(), buffer.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    const auto size = static_cast<std::size_t>(n);
    if (!pipe.push(buffer.substr(0, size), link.arrival(size))) break;
  }
  pipe.finish();
  writer.join();
  ::shutdown(from, SHUT_RD);
}

int connect_to(const sockaddr_in& target) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&target), sizeof target) != 0) {
    ::close(fd);
    return -1;
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

bool parse_address(std::string_view text, sockaddr_in& out) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return false;
  const std::string host(text.substr(0, colon));
  const int port = std::atoi(std::string(text.substr(colon + 1)).c_str());
  std::memset(&out, 0, sizeof out);
  out.sin_family = AF_INET;
  out.sin_port = htons(static_cast<std::uint16_t>(port));
  return port > 0 && port < 65536 && ::inet_pton(AF_INET, host.c_str(), &out.sin_addr) == 1 &&
         (ntohl(out.sin_addr.s_addr) >> 24) == 127;  // loopback only
}

int usage(const char* why) {
  std::fprintf(stderr,
               "wan_proxy: %s\nusage: wan_proxy --target 127.0.0.1:PORT [--delay-ms 10] "
               "[--rate-mbit 1000]\n",
               why);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  sockaddr_in target{};
  bool have_target = false;
  double delay_ms = 10;
  double rate_mbit = 1000;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    if (flag == "--target") {
      have_target = parse_address(argv[i + 1], target);
      if (!have_target) return usage("--target must be a 127.x.x.x:PORT address");
    } else if (flag == "--delay-ms") {
      delay_ms = std::atof(argv[i + 1]);
    } else if (flag == "--rate-mbit") {
      rate_mbit = std::atof(argv[i + 1]);
    } else {
      return usage("unknown option");
    }
  }
  if (argc % 2 == 0) return usage("every option takes a value");
  if (!have_target) return usage("--target is required");
  if (delay_ms < 0 || rate_mbit <= 0) return usage("--delay-ms >= 0 and --rate-mbit > 0");

  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in local{};
  local.sin_family = AF_INET;
  local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof local;
  if (listener < 0 || ::bind(listener, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0 ||
      ::listen(listener, 128) != 0 ||
      ::getsockname(listener, reinterpret_cast<sockaddr*>(&local), &length) != 0) {
    std::perror("wan_proxy: listen");
    return 1;
  }
  struct sigaction sa {};
  sa.sa_handler = on_signal;  // no SA_RESTART: accept() returns EINTR
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  std::printf("http://127.0.0.1:%d\n", ntohs(local.sin_port));
  std::fflush(stdout);

  const auto delay = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double, std::milli>(delay_ms));
  Link up(rate_mbit * 1e6 / 8, delay);
  Link down(rate_mbit * 1e6 / 8, delay);
  // Each connection's sockets are closed by this thread after its
  // forwarding threads are joined: finished ones on the next accept, the
  // rest (idle keep-alives) cut at the stop.
  struct Connection {
    int client;
    int server;
    std::atomic<bool> done{false};
    std::thread thread;
  };
  std::vector<std::unique_ptr<Connection>> connections;
  const auto reap = [&](bool all) {
    for (auto it = connections.begin(); it != connections.end();) {
      Connection& c = **it;
      if (!all && !c.done.load()) {
        ++it;
        continue;
      }
      ::shutdown(c.client, SHUT_RDWR);
      ::shutdown(c.server, SHUT_RDWR);
      c.thread.join();
      ::close(c.client);
      ::close(c.server);
      it = connections.erase(it);
    }
  };
  while (!g_stop.load()) {
    const int client = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    reap(false);
    if (client < 0) continue;  // EINTR on a signal; the loop re-checks g_stop
    const int one = 1;
    ::setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    const int server = connect_to(target);
    if (server < 0) {
      ::close(client);
      continue;
    }
    auto c = std::make_unique<Connection>();
    c->client = client;
    c->server = server;
    Connection* raw = c.get();
    c->thread = std::thread([raw, &up, &down] {
      std::thread back([&] { forward(raw->server, raw->client, down); });
      forward(raw->client, raw->server, up);
      back.join();
      raw->done.store(true);
    });
    connections.push_back(std::move(c));
  }
  reap(true);
  ::close(listener);
  return 0;
}
