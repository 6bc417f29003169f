// ecr-local's HTTP face, two doors onto one Registry: the ECR API (POST / with
// X-Amz-Target, awsJson1_1, SigV4 verification of every request,
// ECR-shaped error documents) and the registry API (/v2/, registry_api.hpp);
// plus the health check (GET /) and pre-signed blob downloads with Range
// support.
// The routes are written against HttpRoutes (http_exchange.hpp); the
// sockets, timeouts and connection limits are HttpListener's.
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
#include "server/http_exchange.hpp"
#include "server/http_listener.hpp"
#include "server/operations.hpp"
#include "server/registry.hpp"
#include "server/registry_api.hpp"
#include "server/registry_token.hpp"
#include "server/request_log.hpp"
#include "server/request_scratch.hpp"
#include "server/throttle.hpp"

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
  // When set, every URL handed out starts with it instead of http://<Host>
  // (https://<Host> when the listener serves TLS, http.tls_*).
  std::optional<std::string> public_url;
  RegistrySettings registry;
  // How long GetDownloadUrlForLayer URLs stay valid.
  std::chrono::seconds download_url_lifetime{std::chrono::hours(1)};
  // How often lifecycle policies are applied and idle uploads expired; 0: never.
  std::chrono::seconds maintenance_interval{std::chrono::hours(1)};
  // Threads, timeouts and connection limits of the HTTP listener.
  ListenerOptions http;
  LogLevel log_level = LogLevel::kInfo;
  // Per-operation rate limits (--throttle, throttle.hpp): requests over them
  // are refused with ThrottlingException, after authentication. Through the
  // registry API a request counts against the operation it stands for.
  // nullopt: nothing is throttled.
  std::optional<RateTable> throttle;
};

class RegistryServer : private HttpRoutes {
 public:
  // Opens the storage under options.root. Throws ServiceError
  // "ServerException" when it cannot be used.
  explicit RegistryServer(ServerOptions options);
  // Stops serving and joins the maintenance thread.
  ~RegistryServer() override;
  RegistryServer(const RegistryServer&) = delete;
  RegistryServer& operator=(const RegistryServer&) = delete;

  // Binds the listening socket; returns the port. Throws InputError when
  // the address cannot be bound.
  int bind();
  // Serves until stop(); call after bind(). Returns promptly after stop()
  // even with connections open (HttpListener::run).
  void run();
  // Thread-safe, also before run(); makes run() return.
  void stop();

  Registry& registry() noexcept { return registry_; }

#ifdef ECR_FUZZING
  // Fuzzing builds only: ECR_FUZZING is defined by fuzz/CMakeLists.txt and
  // by no other build, so no ecr-local a user runs has this door. Takes one
  // request through screen() and handle() as the listener does once `body`
  // has arrived (buffered in a leased scratch, or passed to the route's
  // stream), without a socket, and returns the response. Unlike the
  // listener, lets an exception thrown by a route escape, so a fuzzer sees
  // it. Authentication is as options.require_auth says.
  HttpResponse exchange_for_fuzzing(HttpRequest request, std::string_view body);
#endif

 private:
  // HttpRoutes: request ids on every response, refusals as ECR error
  // documents, one log line per request.
  BodyPlan screen(const HttpRequest& request, HttpResponse& response) override;
  void handle(HttpRequest& request, HttpResponse& response) override;
  void refuse(Refusal why, const HttpRequest& request, HttpResponse& response) override;
  void record(const HttpRequest& request, const HttpResponse& response,
              const ExchangeRecord& record) override;

  void answer_health_check(HttpResponse& response);                               // GET /
  void answer_api_call(HttpRequest& request, HttpResponse& response);             // POST /
  void answer_blob_download(const HttpRequest& request, HttpResponse& response);  // GET /blobs/
  void maintain();

  ServerOptions options_;
  Log log_;
  Registry registry_;
  DownloadSigner signer_;
  RegistryTokens tokens_;
  Operations operations_;
  std::unique_ptr<Throttle> throttle_;  // null unless ServerOptions::throttle
  RegistryApi registry_api_;            // the registry API's door (/v2/)
  // Declared before the listener: its connections return scratches here.
  ScratchPool scratch_;
  int port_ = 0;

  std::mutex maintenance_mu_;
  std::condition_variable maintenance_wake_;
  bool stopping_ = false;
  std::thread maintenance_;
  // Last: goes first, so no request is in flight while the rest goes.
  HttpListener listener_;
};

}  // namespace ecr::server
