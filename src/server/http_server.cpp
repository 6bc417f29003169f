#include "server/http_server.hpp"

#include <fcntl.h>
#include <httplib.h>
#include <openssl/rand.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>

#include "api/error_document.hpp"
#include "aws/sigv4.hpp"
#include "core/file.hpp"
#include "ecr/service_errors.hpp"

namespace ecr::server {
namespace {

constexpr std::string_view kTargetPrefix = "AmazonEC2ContainerRegistry_V20150921.";
constexpr const char* kJsonContentType = "application/x-amz-json-1.1";
// Chunk size for streaming a blob to a download client.
constexpr std::size_t kDownloadChunkBytes = 256 * 1024;

// When the request being handled on this thread started (for the log line);
// httplib runs each request start to end on one thread.
thread_local std::optional<std::chrono::steady_clock::time_point> t_request_start;
// Body bytes of the API request being handled on this thread (for the log
// line): the API route reads its body itself, so Request::body stays empty.
thread_local std::size_t t_request_body_bytes = 0;

std::string new_request_id() {
  unsigned char b[16];
  RAND_bytes(b, sizeof b);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += kHex[b[i] >> 4];
    out += kHex[b[i] & 15];
  }
  return out;
}

void send_error(httplib::Response& res, const ServiceError& e, int status) {
  res.status = status;
  res.set_header("x-amzn-ErrorType", e.name());
  res.set_content(api::error_document(e), kJsonContentType);
}

int status_for(const ServiceError& e) { return e.http_status() == 500 ? 500 : 400; }

ServiceError auth_error(const aws::VerifyResult& result) {
  switch (result.failure) {
    case aws::VerifyFailure::kMissing:
      return ServiceError("MissingAuthenticationTokenException",
                          result.message.empty() ? "Missing Authentication Token" : result.message,
                          403);
    case aws::VerifyFailure::kMalformed:
      return ServiceError("IncompleteSignatureException", result.message, 403);
    case aws::VerifyFailure::kUnknownKey:
      return ServiceError("UnrecognizedClientException",
                          result.message.empty()
                              ? "The security token included in the request is invalid."
                              : result.message,
                          403);
    case aws::VerifyFailure::kExpired:
      return ServiceError("InvalidSignatureException",
                          result.message.empty() ? "Signature expired" : result.message, 403);
    case aws::VerifyFailure::kBadSignature:
    case aws::VerifyFailure::kNone:
      break;
  }
  return ServiceError(
      "InvalidSignatureException",
      result.message.empty()
          ? "The request signature we calculated does not match the signature you provided."
          : result.message,
      403);
}

http::Headers headers_of(const httplib::Request& req) {
  http::Headers out;
  for (const auto& [name, value] : req.headers) out.emplace_back(name, value);
  return out;
}

}  // namespace

RegistryServer::RegistryServer(ServerOptions options)
    : options_(std::move(options)),
      log_(options_.log_level),
      registry_(options_.root, options_.registry),
      signer_(options_.root / "download-url.key"),
      operations_(registry_, signer_, options_.download_url_lifetime),
      http_(std::make_unique<httplib::Server>()) {
  registry_.expire_uploads();
  install_routes();
  if (options_.maintenance_interval.count() > 0) maintenance_ = std::thread([this] { maintain(); });
}

RegistryServer::~RegistryServer() {
  stop();
  if (maintenance_.joinable()) maintenance_.join();
}

void RegistryServer::maintain() {
  std::unique_lock lock(maintenance_mu_);
  while (!maintenance_wake_.wait_for(lock, options_.maintenance_interval,
                                     [this] { return stopping_; })) {
    lock.unlock();
    try {
      std::size_t uploads = registry_.expire_uploads();
      std::size_t images = registry_.apply_lifecycle_policies();
      const GarbageCollected gc = registry_.collect_garbage();
      log_.write(LogLevel::kInfo, "maintenance: expired " + std::to_string(uploads) + " uploads, " +
                                      std::to_string(images) + " images by lifecycle policy; " +
                                      garbage_summary(gc));
    } catch (const std::exception& e) {
      log_.write(LogLevel::kError, std::string("maintenance failed: ") + e.what());
    }
    lock.lock();
  }
}

int RegistryServer::bind() {
  port_ = options_.port == 0
              ? http_->bind_to_any_port(options_.host)
              : (http_->bind_to_port(options_.host, options_.port) ? options_.port : -1);
  if (port_ <= 0) {
    throw InputError("cannot listen on " + options_.host + ":" + std::to_string(options_.port));
  }
  return port_;
}

void RegistryServer::run() { http_->listen_after_bind(); }

void RegistryServer::stop() {
  {
    std::lock_guard lock(maintenance_mu_);
    stopping_ = true;
  }
  maintenance_wake_.notify_all();
  http_->stop();
}

namespace {

// Reads an API request's body into `body` itself rather than through
// httplib: into a leased scratch reserved from Content-Length with room for
// simdjson's padding, so no growing string, no copy before parsing, warm
// memory (request_scratch.hpp). httplib still refuses a body over
// kMaxRequestBytes with 413. False when the read failed.
bool read_api_body(const httplib::Request& req, const httplib::ContentReader& content_reader,
                   std::string& body) {
  std::string length_text = req.get_header_value("Content-Length");
  std::size_t length = 0;
  std::from_chars(length_text.data(), length_text.data() + length_text.size(), length);
  body.reserve(std::min(length, kMaxRequestBytes) + simdjson::SIMDJSON_PADDING);
  bool read = content_reader([&body](const char* data, std::size_t size) {
    body.append(data, size);
    return true;
  });
  t_request_body_bytes = body.size();
  if (!read) return false;
  body.reserve(body.size() + simdjson::SIMDJSON_PADDING);  // a chunked body had no length
  return true;
}

// The error answering an API request whose SigV4 signature does not verify
// against the configured key; nullopt when it does.
std::optional<ServiceError> signature_refusal(const ServerOptions& options,
                                              const httplib::Request& req, std::string_view body) {
  aws::SecretLookup lookup = [&options](std::string_view key) -> std::optional<std::string> {
    if (key == options.access_key) return options.secret_key;
    return std::nullopt;
  };
  aws::VerifyResult verdict = aws::verify_headers("POST", req.target, headers_of(req), body, lookup,
                                                  std::chrono::system_clock::now());
  if (verdict.ok()) return std::nullopt;
  return auth_error(verdict);
}

}  // namespace

void RegistryServer::install_routes() {
  configure_connections();
  install_request_log();
  install_refusal_answers();
  install_health_check();
  install_api_endpoint();
  install_blob_downloads();
}

void RegistryServer::configure_connections() {
  httplib::Server& http = *http_;
  std::size_t threads = options_.threads;
  // httplib takes ownership of the raw pointer it is given.
  http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http.set_payload_max_length(kMaxRequestBytes);
  http.set_keep_alive_max_count(1000);
  // cpp-httplib writes headers and body separately; without TCP_NODELAY each
  // small response waits ~40 ms for the peer's delayed ACK (measured: 27.8 ms
  // per keep-alive call without, 0.5 ms with).
  http.set_tcp_nodelay(true);
  http.set_read_timeout(std::chrono::seconds(60));
  http.set_write_timeout(std::chrono::seconds(60));
}

// Every response carries an x-amzn-RequestId; every request gets one log
// line with its status, duration, body sizes and that id.
void RegistryServer::install_request_log() {
  httplib::Server& http = *http_;
  http.set_pre_routing_handler([](const httplib::Request&, httplib::Response& res) {
    t_request_start = std::chrono::steady_clock::now();
    res.set_header("x-amzn-RequestId", new_request_id());
    return httplib::Server::HandlerResponse::Unhandled;
  });

  http.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    if (!log_.enabled(LogLevel::kInfo)) return;
    std::string what = req.method + " " + req.path;
    if (auto target = req.get_header_value("X-Amz-Target"); !target.empty()) {
      what = target.substr(target.find('.') + 1);
    }
    long long ms = 0;
    if (t_request_start) {
      ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                 *t_request_start)
               .count();
    }
    t_request_start.reset();
    std::size_t in = req.body.size() + t_request_body_bytes;
    t_request_body_bytes = 0;
    std::size_t out = res.body.size() + (res.content_length_ ? res.content_length_ : 0);
    log_.write(LogLevel::kInfo, what + " " + std::to_string(res.status) + " " + std::to_string(ms) +
                                    "ms in=" + std::to_string(in) + " out=" + std::to_string(out) +
                                    " id=" + res.get_header_value("x-amzn-RequestId"));
  });
}

void RegistryServer::install_refusal_answers() {
  httplib::Server& http = *http_;
  // Answers httplib's own refusals (413 for an oversize body, 404, 400 for a
  // malformed request line) as ECR-style JSON errors; leaves ours alone.
  http.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request&,
                                                                 httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    if (!res.has_header("x-amzn-RequestId")) res.set_header("x-amzn-RequestId", new_request_id());
    if (res.status == 413) {
      send_error(res,
                 ServiceError("RequestEntityTooLargeException",
                              "Request body exceeds the limit of " +
                                  std::to_string(kMaxRequestBytes) + " bytes"),
                 413);
    } else if (res.status == 404) {
      send_error(res, ServiceError("NotFoundException", "No such resource"), 404);
    } else {
      send_error(res, ServiceError("BadRequestException", "Malformed HTTP request"), res.status);
    }
    return httplib::Server::HandlerResponse::Handled;
  }));
}

void RegistryServer::install_health_check() {
  http_->Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("{\"status\":\"ok\"}", "application/json");
  });
}

// POST / with X-Amz-Target: the awsJson1_1 API, SigV4-verified unless
// require_auth is off, errors answered as ECR's error documents.
void RegistryServer::install_api_endpoint() {
  http_->Post("/", [this](const httplib::Request& req, httplib::Response& res,
                          const httplib::ContentReader& content_reader) {
    ScratchPool::Lease scratch = scratch_.lease();
    // On a failed read httplib has set the status (413, 400); the error handler answers.
    if (!read_api_body(req, content_reader, scratch->body)) return;
    try {
      if (options_.require_auth) {
        if (auto refusal = signature_refusal(options_, req, scratch->body)) {
          send_error(res, *refusal, 403);
          return;
        }
      }
      std::string target = req.get_header_value("X-Amz-Target");
      if (!target.starts_with(kTargetPrefix)) {
        send_error(res, ServiceError("UnknownOperationException", ""), 400);
        return;
      }
      RequestContext context;
      context.base_url = options_.public_url.value_or(
          "http://" + (req.has_header("Host") ? req.get_header_value("Host")
                                              : options_.host + ":" + std::to_string(port_)));
      std::string answer = operations_.invoke(std::string_view(target).substr(kTargetPrefix.size()),
                                              *scratch, context);
      res.status = 200;
      res.set_content(std::move(answer), kJsonContentType);
    } catch (const ServiceError& e) {
      if (status_for(e) == 500) log_.write(LogLevel::kError, e.what());
      send_error(res, e, status_for(e));
    } catch (const std::exception& e) {
      log_.write(LogLevel::kError, std::string("internal error: ") + e.what());
      send_error(res, api::ServerException("Internal error"), 500);
    }
  });
}

// GET /blobs/sha256/<hex>: layer bytes through the signed URLs that
// GetDownloadUrlForLayer hands out (download_url.hpp), with Range support.
void RegistryServer::install_blob_downloads() {
  httplib::Server& http = *http_;
  http.Get(R"(/blobs/sha256/([0-9a-f]{64}))", [this](const httplib::Request& req,
                                                     httplib::Response& res) {
    std::string digest = "sha256:" + std::string(req.matches[1]);
    auto refusal =
        signer_.refuse(digest, req.get_param_value("repository"), req.get_param_value("expires"),
                       req.get_param_value("signature"), std::chrono::system_clock::now());
    if (refusal) {
      send_error(res, ServiceError("AccessDenied", "Access denied: " + *refusal, 403), 403);
      return;
    }
    Digest d = Digest::parse(digest);
    auto file = std::make_shared<UniqueFd>(
        ::open(registry_.blobs().blob_path(d).c_str(), O_RDONLY | O_CLOEXEC));
    auto size = registry_.blobs().size(d);
    if (!file->valid() || !size) {
      send_error(res, ServiceError("NoSuchKey", "The blob does not exist", 404), 404);
      return;
    }
    res.set_header("ETag", "\"" + std::string(d.hex()) + "\"");
    res.set_content_provider(
        static_cast<std::size_t>(*size), "application/octet-stream",
        [file](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
          std::string buffer(std::min(length, kDownloadChunkBytes), '\0');
          ssize_t n =
              ::pread(file->get(), buffer.data(), buffer.size(), static_cast<off_t>(offset));
          if (n <= 0) return false;
          return sink.write(buffer.data(), static_cast<std::size_t>(n));
        });
  });
}

}  // namespace ecr::server
