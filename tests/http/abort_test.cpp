// TransportOptions::abort: a cancelled transfer must not wait on a peer that
// has stopped answering (or stopped reading), and must not start new requests.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

#include "ecr/error.hpp"
#include "http/transport.hpp"

namespace ecr::http {
namespace {

using namespace std::chrono_literals;

// A TCP listener on 127.0.0.1 that accepts one connection and never answers
// it. With `read_request`, it reads the request head and then goes silent (a
// server stuck on its reply); without, it never reads (a peer that stopped
// taking an upload, so the client's socket buffers fill and it stalls).
class SilentPeer {
 public:
  explicit SilentPeer(bool read_request) : read_request_(read_request) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
        ::listen(listen_fd_, 4) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      if (listen_fd_ >= 0) ::close(listen_fd_);
      throw std::runtime_error("cannot listen on loopback");
    }
    port_ = ntohs(addr.sin_port);
  }

  ~SilentPeer() {
    // Wakes a thread still blocked in accept() or recv().
    ::shutdown(listen_fd_, SHUT_RDWR);
    if (conn_fd_ >= 0) ::shutdown(conn_fd_, SHUT_RDWR);
    if (thread_.joinable()) thread_.join();
    if (conn_fd_ >= 0) ::close(conn_fd_);
    ::close(listen_fd_);
  }

  SilentPeer(const SilentPeer&) = delete;
  SilentPeer& operator=(const SilentPeer&) = delete;

  void start() {
    thread_ = std::thread([this] {
      const int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) return;
      std::string head;
      if (read_request_) {
        char buffer[4096];
        while (head.find("\r\n\r\n") == std::string::npos) {
          const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
          if (n <= 0) break;
          head.append(buffer, static_cast<std::size_t>(n));
        }
      }
      std::lock_guard lock(mutex_);
      conn_fd_ = fd;
      request_head_ = std::move(head);
      reached_.notify_all();
    });
  }

  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

  // Waits until the connection is accepted (and its head read); false after
  // `limit`, so a broken client cannot hang the test.
  bool wait_until_reached(std::chrono::seconds limit) {
    std::unique_lock lock(mutex_);
    return reached_.wait_for(lock, limit, [this] { return conn_fd_ >= 0; });
  }

  std::string request_head() {
    std::lock_guard lock(mutex_);
    return request_head_;
  }

  // True when a client has connected (accepted or waiting in the backlog).
  bool connected() {
    {
      std::lock_guard lock(mutex_);
      if (conn_fd_ >= 0) return true;
    }
    pollfd p{listen_fd_, POLLIN, 0};
    return ::poll(&p, 1, 0) > 0;
  }

 private:
  bool read_request_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::mutex mutex_;
  std::condition_variable reached_;
  int conn_fd_ = -1;
  std::string request_head_;
  std::thread thread_;
};

// The low-speed limit is the test's watchdog: were the abort not honoured,
// the request would end as a timeout after this long instead of hanging.
TransportOptions abortable(const std::atomic<bool>& abort) {
  TransportOptions options;
  options.low_speed_bytes = 1;
  options.low_speed_time = 20s;
  options.abort = &abort;
  return options;
}

// Runs `send` on its own thread; join() returns what it threw.
class SendInBackground {
 public:
  explicit SendInBackground(std::function<void()> send)
      : thread_([this, send = std::move(send)] {
          try {
            send();
          } catch (...) {
            error_ = std::current_exception();
          }
        }) {}
  ~SendInBackground() {
    if (thread_.joinable()) thread_.join();
  }
  SendInBackground(const SendInBackground&) = delete;
  SendInBackground& operator=(const SendInBackground&) = delete;

  std::exception_ptr join() {
    thread_.join();
    return error_;
  }

 private:
  std::exception_ptr error_;
  std::thread thread_;
};

// The message of the RequestAborted in `error`; fails the test for anything else.
std::string aborted_message(std::exception_ptr error) {
  if (!error) {
    ADD_FAILURE() << "the request succeeded";
    return {};
  }
  try {
    std::rethrow_exception(error);
  } catch (const RequestAborted& aborted) {
    EXPECT_FALSE(aborted.timeout());
    return aborted.what();
  } catch (const std::exception& other) {
    ADD_FAILURE() << "expected RequestAborted, got: " << other.what();
  }
  return {};
}

TEST(TransportAbort, AbortEndsARequestWhoseServerNeverAnswers) {
  SilentPeer peer(/*read_request=*/true);
  peer.start();
  std::atomic<bool> abort{false};
  auto transport = make_curl_transport(abortable(abort));
  const std::string url = peer.url("/v2/blob?X-Amz-Signature=secret");

  SendInBackground send([&] { transport->send(Request{"GET", url, {}, {}}); });
  ASSERT_TRUE(peer.wait_until_reached(20s));
  EXPECT_EQ(peer.request_head().rfind("GET /v2/blob?", 0), 0u);
  abort.store(true);

  EXPECT_EQ(aborted_message(send.join()), "request aborted (GET " + peer.url("/v2/blob") + ")");
}

TEST(TransportAbort, AbortEndsAStreamedDownloadWaitingForItsBody) {
  SilentPeer peer(/*read_request=*/true);
  peer.start();
  std::atomic<bool> abort{false};
  auto transport = make_curl_transport(abortable(abort));
  int sink_calls = 0;

  SendInBackground send([&] {
    transport->send(Request{"GET", peer.url("/blob"), {}, {}}, [&](std::string_view) {
      ++sink_calls;
      return true;
    });
  });
  ASSERT_TRUE(peer.wait_until_reached(20s));
  abort.store(true);

  EXPECT_EQ(aborted_message(send.join()), "request aborted (GET " + peer.url("/blob") + ")");
  EXPECT_EQ(sink_calls, 0);
}

TEST(TransportAbort, AbortEndsAnUploadThePeerStoppedReading) {
  SilentPeer peer(/*read_request=*/false);
  peer.start();
  std::atomic<bool> abort{false};
  auto transport = make_curl_transport(abortable(abort));
  // Far more than loopback socket buffers hold, as an UploadLayerPart body
  // (a 20 MiB part, base64) is: the send stalls part way.
  const std::string body(32u << 20, 'p');

  SendInBackground send([&] { transport->send(Request{"POST", peer.url("/"), {}, body}); });
  ASSERT_TRUE(peer.wait_until_reached(20s));
  abort.store(true);

  EXPECT_EQ(aborted_message(send.join()), "request aborted (POST " + peer.url("/") + ")");
}

TEST(TransportAbort, RequestStartedWithTheFlagSetFailsWithoutConnecting) {
  SilentPeer peer(/*read_request=*/true);
  std::atomic<bool> abort{true};
  auto transport = make_curl_transport(abortable(abort));

  try {
    transport->send(Request{"GET", peer.url("/x"), {}, {}});
    FAIL() << "expected RequestAborted";
  } catch (const RequestAborted& error) {
    EXPECT_EQ(std::string(error.what()),
              "request aborted before it started (GET " + peer.url("/x") + ")");
  }
  EXPECT_FALSE(peer.connected());
}

TEST(TransportAbort, AnUnsetFlagChangesNothing) {
  SilentPeer peer(/*read_request=*/true);
  std::atomic<bool> abort{false};
  TransportOptions options = abortable(abort);
  options.low_speed_time = 1s;
  auto transport = make_curl_transport(options);
  peer.start();

  // The silent peer is cut by the low-speed limit as before: a timeout, not an abort.
  try {
    transport->send(Request{"GET", peer.url("/x"), {}, {}});
    FAIL() << "expected TransportError";
  } catch (const RequestAborted& error) {
    FAIL() << "not aborted, yet: " << error.what();
  } catch (const TransportError& error) {
    EXPECT_TRUE(error.timeout()) << error.what();
  }
}

}  // namespace
}  // namespace ecr::http
