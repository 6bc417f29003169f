// A cpp-httplib server on 127.0.0.1 and a port the OS picks, running on its
// own thread for the lifetime of the object. Routes are registered before the
// server starts.
#pragma once

#include <httplib.h>

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

namespace ecr::testing {

class LocalServer {
 public:
  // Plain HTTP, or the given server (an httplib::SSLServer for https).
  explicit LocalServer(const std::function<void(httplib::Server&)>& routes,
                       std::unique_ptr<httplib::Server> server = nullptr,
                       std::string scheme = "http")
      : server_(server ? std::move(server) : std::make_unique<httplib::Server>()),
        scheme_(std::move(scheme)) {
    routes(*server_);
    // Bounds how long a worker waits on an idle keep-alive connection, which
    // is what stop() waits for when a client still holds one open.
    server_->set_keep_alive_timeout(1);
    // cpp-httplib writes headers and body separately; with Nagle on, each
    // small response then waits ~40 ms for the client's delayed ACK.
    server_->set_tcp_nodelay(true);
    port_ = server_->bind_to_any_port("127.0.0.1");
    if (port_ <= 0) throw std::runtime_error("cannot bind a loopback port");
    // The socket listens from here on, so clients may connect before the
    // accept loop runs: the backlog holds them.
    thread_ = std::thread([this] { server_->listen_after_bind(); });
  }

  ~LocalServer() {
    // stop() is a no-op until the accept loop has started; it starts at once.
    while (!server_->is_running()) std::this_thread::yield();
    server_->stop();
    thread_.join();
  }

  LocalServer(const LocalServer&) = delete;
  LocalServer& operator=(const LocalServer&) = delete;

  int port() const { return port_; }
  std::string url(const std::string& path) const {
    return scheme_ + "://127.0.0.1:" + std::to_string(port_) + path;
  }

 private:
  std::unique_ptr<httplib::Server> server_;
  std::string scheme_;
  int port_ = 0;
  std::thread thread_;
};

}  // namespace ecr::testing
