// A moto_server (the `moto[server]` Python package) on 127.0.0.1, for tests
// that check the client against an ECR implementation nobody here wrote.
//
//   if (!MotoServer::available()) GTEST_SKIP() << MotoServer::kMissingMessage;
//   MotoServer moto;                       // started and answering
//   config.endpoint_url = moto.endpoint_url();
//
// moto keeps all state in memory, per account and region, for the life of
// the process; reset() empties it so tests sharing one server start clean.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "support/subprocess.hpp"

namespace ecr::testing {

class MotoServer {
 public:
  static constexpr const char* kMissingMessage =
      "moto_server is not on PATH (pip install 'moto[server]'): skipping the tests against moto";

  // True when a `moto_server` program is on PATH.
  static bool available();

  // Starts `moto_server -H 127.0.0.1 -p <free port>` and waits until it
  // answers HTTP. Its output (request log, tracebacks) goes to a log file
  // that is removed when the server stops. Throws std::runtime_error when it
  // does not answer within `startup_timeout` (the message ends with the log).
  explicit MotoServer(std::chrono::milliseconds startup_timeout = std::chrono::seconds(60));
  // Stops the server and removes its log.
  ~MotoServer();
  MotoServer(const MotoServer&) = delete;
  MotoServer& operator=(const MotoServer&) = delete;

  // "http://127.0.0.1:<port>", for ClientConfig::endpoint_url.
  const std::string& endpoint_url() const noexcept { return endpoint_url_; }
  int port() const noexcept { return port_; }

  // Forgets every resource of every service (POST /moto-api/reset). Throws
  // std::runtime_error when moto does not answer 200.
  void reset();

  // What the server wrote to stderr so far (for failure messages).
  std::string log() const;

 private:
  int port_ = 0;
  std::string endpoint_url_;
  std::string log_path_;
  std::unique_ptr<Subprocess> process_;
};

}  // namespace ecr::testing
