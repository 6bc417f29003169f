// ecr-local's HTTP face: the awsJson1_1 endpoint (POST / with X-Amz-Target),
// SigV4 verification of every API request, ECR-shaped error documents, the
// health check (GET /) and pre-signed blob downloads with Range support.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "server/download_url.hpp"
#include "server/operations.hpp"
#include "server/registry.hpp"
#include "server/request_log.hpp"
#include "server/request_scratch.hpp"

namespace httplib {
class Server;
}

namespace ecr::server {

// Documented defaults (docs/ecr-local.md): the credentials ecr-local accepts
// when neither flags nor AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY give them.
inline constexpr const char* kDefaultAccessKey = "ecr-local";
inline constexpr const char* kDefaultSecretKey = "ecr-local-secret";

// The largest request body read: a 20 MiB part (LayerPartBlob max) in base64
// is 27,962,028 bytes; 1 MiB more covers the JSON around it. Anything larger
// is refused with 413 from its Content-Length, before the body is buffered.
inline constexpr std::size_t kMaxRequestBytes = 27'962'028 + (1u << 20);

struct ServerOptions {
  std::filesystem::path root;
  std::string host = "127.0.0.1";
  int port = 0;  // 0: any free port
  std::string access_key = kDefaultAccessKey;
  std::string secret_key = kDefaultSecretKey;
  bool require_auth = true;
  // When set, every URL handed out starts with it instead of http://<Host>.
  std::optional<std::string> public_url;
  RegistrySettings registry;
  // How long GetDownloadUrlForLayer URLs stay valid.
  std::chrono::seconds download_url_lifetime{std::chrono::hours(1)};
  // How often lifecycle policies are applied and idle uploads expired; 0: never.
  std::chrono::seconds maintenance_interval{std::chrono::hours(1)};
  // Request threads. Idle keep-alive connections hold one each, so this is
  // sized for a few parallel clients with their connection pools.
  std::size_t threads = 32;
  LogLevel log_level = LogLevel::kInfo;
};

class RegistryServer {
 public:
  // Opens the storage under options.root. Throws ServiceError
  // "ServerException" when it cannot be used.
  explicit RegistryServer(ServerOptions options);
  // Stops serving and joins the maintenance thread.
  ~RegistryServer();
  RegistryServer(const RegistryServer&) = delete;
  RegistryServer& operator=(const RegistryServer&) = delete;

  // Binds the listening socket; returns the port. Throws InputError when
  // the address cannot be bound.
  int bind();
  // Serves until stop(); call after bind().
  void run();
  // Thread-safe; makes run() return.
  void stop();

  Registry& registry() noexcept { return registry_; }

 private:
  // install_routes() installs each of these on http_.
  void install_routes();
  void configure_connections();    // thread pool, body limit, keep-alive, timeouts
  void install_request_log();      // request ids, one log line per request
  void install_refusal_answers();  // httplib's own 400/404/413 as JSON errors
  void install_health_check();     // GET /
  void install_api_endpoint();     // POST /: the ECR API
  void install_blob_downloads();   // GET /blobs/sha256/<hex>: signed layer downloads
  void maintain();

  ServerOptions options_;
  Log log_;
  Registry registry_;
  DownloadSigner signer_;
  Operations operations_;
  ScratchPool scratch_;
  std::unique_ptr<httplib::Server> http_;
  int port_ = 0;

  std::mutex maintenance_mu_;
  std::condition_variable maintenance_wake_;
  bool stopping_ = false;
  std::thread maintenance_;
};

}  // namespace ecr::server
