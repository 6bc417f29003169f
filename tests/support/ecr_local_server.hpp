// An ecr-local (tools/ecr-local) on 127.0.0.1 with a port the kernel picks,
// for tests that drive the registry the way users do.
//
//   EcrLocalServer server;                    // started and answering
//   config.endpoint_url = server.endpoint_url();
//   ...
//   EXPECT_EQ(server.requests("BatchGetImage"), 1);
//   EXPECT_EQ(server.stop(), 0) << server.log();
//
// The server keeps its data and its log in a private temporary directory
// that is removed when the object goes. Its log has one line per request
// ("<time> INFO <operation> <status> <ms>ms in=<bytes> out=<bytes> id=..."),
// which requests() counts.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "support/subprocess.hpp"

namespace ecr::testing {

class EcrLocalServer {
 public:
  static constexpr const char* kAccessKey = "ecr-local";
  static constexpr const char* kSecretKey = "ecr-local-secret";
  static constexpr const char* kRegion = "us-east-1";
  static constexpr const char* kAccountId = "000000000000";

  // The ecr-local this build made.
  static std::string binary();

  // Starts ecr-local with --root in a fresh temporary directory, --listen
  // 127.0.0.1:0 and the credentials above, plus `extra_args`; waits for the
  // URL line it prints. Throws std::runtime_error (with the log) when it
  // prints none within `startup_timeout`.
  explicit EcrLocalServer(std::vector<std::string> extra_args = {},
                          std::chrono::milliseconds startup_timeout = std::chrono::seconds(20));
  // Stops the server (if stop() was not called) and removes its directory.
  ~EcrLocalServer();
  EcrLocalServer(const EcrLocalServer&) = delete;
  EcrLocalServer& operator=(const EcrLocalServer&) = delete;

  // "http://127.0.0.1:<port>", or https:// when started with --tls-cert.
  const std::string& endpoint_url() const noexcept { return endpoint_url_; }
  int port() const noexcept { return port_; }
  // The temporary directory: <dir>/registry is ecr-local's --root.
  const std::filesystem::path& directory() const noexcept { return dir_; }
  pid_t pid() const noexcept { return process_ ? process_->pid() : -1; }

  // Everything the server wrote to stderr so far.
  std::string log() const;
  // Requests logged so far whose operation is `operation` (an X-Amz-Target
  // operation such as "UploadLayerPart", or "GET" for blob downloads).
  int requests(std::string_view operation) const;
  // Every logged request's operation, in order. ecr-local logs a request just
  // after answering it, so this (and requests()) first waits until the log
  // has stopped growing for 100 ms: a tool that has exited is fully counted.
  std::vector<std::string> request_log() const;

  // Sends SIGTERM and returns the exit status: 0 when the server shut down
  // cleanly (a sanitizer report or a crash gives another status).
  int stop();

  // Environment changes that make a tool (ecr, ecr-push, ecr-pull, the AWS
  // CLI) use this server's credentials and region and nothing from the
  // machine's AWS set-up.
  static std::map<std::string, std::optional<std::string>> tool_env();

 private:
  std::filesystem::path dir_;
  std::filesystem::path log_path_;
  std::string endpoint_url_;
  int port_ = 0;
  std::unique_ptr<Subprocess> process_;
  std::optional<int> status_;

  std::string settled_log() const;
};

}  // namespace ecr::testing
