#include "server/http_server.hpp"

#include <fcntl.h>
#include <openssl/rand.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>

#include "api/error_document.hpp"
#include "aws/sigv4.hpp"
#include "core/file.hpp"
#include "ecr/service_errors.hpp"
#ifdef ECR_FUZZING
#include "aws/crypto.hpp"
#endif

namespace ecr::server {
namespace {

constexpr std::string_view kTargetPrefix = "AmazonEC2ContainerRegistry_V20150921.";
constexpr const char* kJsonContentType = "application/x-amz-json-1.1";
constexpr std::string_view kBlobPathPrefix = "/blobs/sha256/";

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

void send_error(HttpResponse& res, const ServiceError& e, int status) {
  res.status = status;
  res.set_header("x-amzn-ErrorType", e.name());
  res.set_header("Content-Type", kJsonContentType);
  res.body = api::error_document(e);
  res.file.reset();
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

// "/blobs/sha256/<64 lowercase hex>" -> the hex; empty for any other path.
std::string_view blob_hex(std::string_view path) {
  if (!path.starts_with(kBlobPathPrefix)) return {};
  std::string_view hex = path.substr(kBlobPathPrefix.size());
  if (hex.size() != 64) return {};
  for (char c : hex) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return {};
  }
  return hex;
}

// The secret of each access key ecr-local accepts.
aws::SecretLookup credential_lookup(const ServerOptions& options) {
  return [access_key = options.access_key,
          secret_key = options.secret_key](std::string_view key) -> std::optional<std::string> {
    if (key == access_key) return secret_key;
    return std::nullopt;
  };
}

// A Host header that can stand as a URI's authority (RFC 3986 host[:port]:
// ASCII letters, digits and the unreserved, sub-delims, ':', '[' and ']' of
// an IP literal, '%' of an escape). ecr-local builds the URLs it hands out
// (proxyEndpoint, download URLs, the registry API's Location) from it: a Host
// with other bytes made them invalid, and a byte outside ASCII made the JSON
// document holding them invalid UTF-8, which no client parses.
bool is_authority(std::string_view host) {
  constexpr std::string_view kPunctuation = "-._~%!$&'()*+,;=:[]";
  return std::all_of(host.begin(), host.end(), [&](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           kPunctuation.find(c) != std::string_view::npos;
  });
}

bool is_get(const HttpRequest& request) {
  return request.method == "GET" || request.method == "HEAD";
}

// The scheme of the URLs handed out: https when the listener serves TLS.
std::string url_scheme(const ListenerOptions& http) {
  return http.tls_certificate_file.empty() ? "http" : "https";
}

}  // namespace

RegistryServer::RegistryServer(ServerOptions options)
    : options_(std::move(options)),
      log_(options_.log_level),
      registry_(options_.root, options_.registry),
      signer_(options_.root / "download-url.key"),
      tokens_(options_.root / "registry-token.key"),
      operations_(registry_, signer_, tokens_, options_.download_url_lifetime),
      throttle_(options_.throttle ? std::make_unique<Throttle>(*options_.throttle) : nullptr),
      registry_api_(registry_, tokens_,
                    {.require_auth = options_.require_auth,
                     .secrets = credential_lookup(options_),
                     .scheme = url_scheme(options_.http),
                     .public_url = options_.public_url,
                     .throttle = throttle_.get()}),
      listener_(options_.http, *this, scratch_) {
  registry_.expire_uploads();
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
                                      std::to_string(images) +
                                      " images expired or archived by lifecycle policy; " +
                                      garbage_summary(gc));
    } catch (const std::exception& e) {
      log_.write(LogLevel::kError, std::string("maintenance failed: ") + e.what());
    }
    lock.lock();
  }
}

int RegistryServer::bind() {
  port_ = listener_.bind(options_.host, options_.port);
  return port_;
}

void RegistryServer::run() { listener_.run(); }

void RegistryServer::stop() {
  {
    std::lock_guard lock(maintenance_mu_);
    stopping_ = true;
  }
  maintenance_wake_.notify_all();
  listener_.stop();
}

namespace {

// The error answering an API request whose SigV4 signature does not verify
// against the configured key; nullopt when it does.
std::optional<ServiceError> signature_refusal(const ServerOptions& options,
                                              const HttpRequest& req) {
  const aws::SecretLookup lookup = credential_lookup(options);
  // The listener hashed the body as it arrived (HttpRequest::body_sha256).
  aws::VerifyResult verdict = aws::verify_headers_with_body_hash(
      "POST", req.target, req.headers, req.body_sha256, lookup, std::chrono::system_clock::now());
  if (verdict.ok()) return std::nullopt;
  return auth_error(verdict);
}

// The words of a refusal for passing one of the listener's header limits,
// naming the limit; empty for the other refusals.
std::string limit_message(Refusal why, const ListenerOptions& http) {
  switch (why) {
    case Refusal::kHeaderTooLarge:
      return "Request header exceeds the limit of " + std::to_string(http.max_header_bytes) +
             " bytes";
    case Refusal::kTooManyHeaderFields:
      return "Request header has more than " + std::to_string(http.max_header_fields) + " fields";
    case Refusal::kHeaderFieldTooLarge:
      return "A request header field exceeds the limit of " +
             std::to_string(http.max_header_field_bytes) + " bytes";
    case Refusal::kTargetTooLong:
      return "Request target exceeds the limit of " + std::to_string(http.max_target_bytes) +
             " bytes";
    default:
      return {};
  }
}

}  // namespace

// Every response carries an x-amzn-RequestId. /v2 belongs to the registry
// API; besides it only the three routes exist, anything else is answered 404
// from its header. Their bodies are buffered, up to kMaxRequestBytes (the
// listener answers a larger Content-Length with 413 before reading any of it).
BodyPlan RegistryServer::screen(const HttpRequest& request, HttpResponse& response) {
  response.set_header("x-amzn-RequestId", new_request_id());
  // RFC 9112 section 3.2: a Host with an invalid value is answered 400.
  if (!is_authority(request.header("Host"))) {
    if (RegistryApi::serves(request.path)) {
      RegistryApi::refuse(Refusal::kMalformed, response);
    } else {
      send_error(response,
                 ServiceError("BadRequestException",
                              "The Host header is not a host[:port] authority (RFC 3986)"),
                 400);
    }
    return BodyPlan::answered();
  }
  if (RegistryApi::serves(request.path)) return registry_api_.screen(request, response);
  const bool known = (request.path == "/" && (is_get(request) || request.method == "POST")) ||
                     (!blob_hex(request.path).empty() && is_get(request));
  if (!known) {
    send_error(response, ServiceError("NotFoundException", "No such resource"), 404);
    return BodyPlan::answered();
  }
  BodyPlan plan = BodyPlan::buffer(kMaxRequestBytes);
  // An UploadLayerPart's part is decoded and digested while it arrives
  // (layer_part_intake.hpp); the handler checks all of it as usual.
  const std::string_view target = request.header("X-Amz-Target");
  if (request.method == "POST" && target.starts_with(kTargetPrefix) &&
      target.substr(kTargetPrefix.size()) == "UploadLayerPart") {
    plan.layer_part = [&registry = registry_](const std::string& upload_id,
                                              std::int64_t first_byte) {
      return PartTarget{registry.take_upload_hash(upload_id, first_byte),
                        registry.receive_part(upload_id, first_byte)};
    };
  }
  return plan;
}

void RegistryServer::handle(HttpRequest& request, HttpResponse& response) {
  if (RegistryApi::serves(request.path)) {
    try {
      return registry_api_.handle(request, response);
    } catch (const std::exception& e) {
      log_.write(LogLevel::kError,
                 "internal error: " + request.method + " " + request.path + ": " + e.what());
      return RegistryApi::refuse(Refusal::kInternal, response);
    }
  }
  if (request.path == "/") {
    if (request.method == "POST") return answer_api_call(request, response);
    return answer_health_check(response);
  }
  answer_blob_download(request, response);
}

void RegistryServer::refuse(Refusal why, const HttpRequest& request, HttpResponse& response) {
  if (response.header("x-amzn-RequestId").empty()) {
    response.set_header("x-amzn-RequestId", new_request_id());
  }
  const std::string limit = limit_message(why, options_.http);
  if (RegistryApi::serves(request.path)) return RegistryApi::refuse(why, response, limit);
  switch (why) {
    case Refusal::kBodyTooLarge:
      send_error(response,
                 ServiceError("RequestEntityTooLargeException",
                              "Request body exceeds the limit of " +
                                  std::to_string(kMaxRequestBytes) + " bytes"),
                 413);
      return;
    case Refusal::kHeaderTooLarge:
    case Refusal::kTooManyHeaderFields:
    case Refusal::kHeaderFieldTooLarge:
      send_error(response, ServiceError("BadRequestException", limit), 431);
      return;
    case Refusal::kTargetTooLong:
      send_error(response, ServiceError("BadRequestException", limit), 414);
      return;
    case Refusal::kIncompleteBody:
      send_error(response,
                 ServiceError("BadRequestException",
                              "The connection ended before the request body was complete"),
                 400);
      return;
    case Refusal::kTooManyConnections:
      send_error(response,
                 ServiceError("ServiceUnavailableException",
                              "Too many open connections; try again later", 503),
                 503);
      return;
    case Refusal::kInternal:
      send_error(response, api::ServerException("Internal error"), 500);
      return;
    case Refusal::kTlsOnPlainListener:
      send_error(response,
                 ServiceError("BadRequestException", std::string(kTlsOnPlainListenerMessage)), 400);
      return;
    case Refusal::kPlainHttpOnTlsListener:
      send_error(response,
                 ServiceError("BadRequestException", std::string(kPlainHttpOnTlsListenerMessage)),
                 400);
      return;
    case Refusal::kMalformed:
      break;
  }
  send_error(response, ServiceError("BadRequestException", "Malformed HTTP request"), 400);
}

#ifdef ECR_FUZZING
HttpResponse RegistryServer::exchange_for_fuzzing(HttpRequest request, std::string_view body) {
  HttpResponse response;
  const BodyPlan plan = screen(request, response);
  if (plan.kind == BodyPlan::Kind::kAnswered) return response;
  if (body.size() > plan.max_body_bytes) {
    response = HttpResponse();
    refuse(Refusal::kBodyTooLarge, request, response);
    return response;
  }
  request.body_bytes = body.size();
  if (plan.kind == BodyPlan::Kind::kStream) {
    request.stream = plan.stream;
    if (!body.empty()) (void)request.stream->write(body);
  } else {
    if (!body.empty()) {
      request.scratch = std::make_unique<ScratchPool::Lease>(scratch_.lease());
      std::string& held = (*request.scratch)->body;
      held.reserve(body.size() + simdjson::SIMDJSON_PADDING);
      held.assign(body);
    }
    request.body_sha256 = aws::sha256_hex(body);
  }
  handle(request, response);
  return response;
}
#endif

// One log line per request: operation (or method and path), status,
// milliseconds, body bytes in and out, request id.
void RegistryServer::record(const HttpRequest& request, const HttpResponse& response,
                            const ExchangeRecord& record) {
  if (!log_.enabled(LogLevel::kInfo)) return;
  std::string what =
      request.method.empty() ? std::string("-") : request.method + " " + request.path;
  if (auto target = request.header("X-Amz-Target"); !target.empty()) {
    what = std::string(target.substr(target.find('.') + 1));
  }
  const long long ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(record.elapsed).count();
  log_.write(LogLevel::kInfo, what + " " + std::to_string(response.status) + " " +
                                  std::to_string(ms) + "ms in=" + std::to_string(record.bytes_in) +
                                  " out=" + std::to_string(record.bytes_out) +
                                  " id=" + std::string(response.header("x-amzn-RequestId")) +
                                  (record.completed ? "" : " (connection lost)"));
}

void RegistryServer::answer_health_check(HttpResponse& response) {
  response.status = 200;
  response.set_header("Content-Type", "application/json");
  response.body = "{\"status\":\"ok\"}";
}

// POST / with X-Amz-Target: the awsJson1_1 API, SigV4-verified unless
// require_auth is off, errors answered as ECR's error documents. The body is
// parsed where it lies in the request's scratch (request_scratch.hpp).
void RegistryServer::answer_api_call(HttpRequest& request, HttpResponse& response) {
  if (!request.scratch) {  // an empty body: parsed in a scratch all the same
    request.scratch = std::make_unique<ScratchPool::Lease>(scratch_.lease());
    (*request.scratch)->body.clear();
    (*request.scratch)->body.reserve(simdjson::SIMDJSON_PADDING);
  }
  try {
    if (options_.require_auth) {
      if (auto refusal = signature_refusal(options_, request)) {
        send_error(response, *refusal, 403);
        return;
      }
    }
    const std::string_view target = request.header("X-Amz-Target");
    if (!target.starts_with(kTargetPrefix)) {
      send_error(response, ServiceError("UnknownOperationException", ""), 400);
      return;
    }
    const std::string_view operation = target.substr(kTargetPrefix.size());
    // After authentication, as ECR: an unsigned request is refused for that
    // and takes no token. Before the body is decoded: a throttled request
    // costs nothing more.
    if (throttle_ && !throttle_->admit(operation)) {
      send_error(response, ServiceError("ThrottlingException", "Rate exceeded"), 400);
      return;
    }
    RequestContext context;
    context.access_key = options_.access_key;
    context.secret_key = options_.secret_key;
    const std::string_view host = request.header("Host");
    context.base_url = options_.public_url.value_or(
        url_scheme(options_.http) + "://" +
        (request.has_header("Host") ? std::string(host)
                                    : options_.host + ":" + std::to_string(port_)));
    response.body = operations_.invoke(operation, **request.scratch, context);
    response.status = 200;
    response.set_header("Content-Type", kJsonContentType);
  } catch (const ServiceError& e) {
    if (status_for(e) == 500) log_.write(LogLevel::kError, e.what());
    send_error(response, e, status_for(e));
  } catch (const std::exception& e) {
    log_.write(LogLevel::kError, std::string("internal error: ") + e.what());
    send_error(response, api::ServerException("Internal error"), 500);
  }
}

// GET /blobs/sha256/<hex>: layer bytes through the signed URLs that
// GetDownloadUrlForLayer hands out (download_url.hpp), with a single byte
// Range (206; 416 when it lies past the end; several ranges get the whole).
void RegistryServer::answer_blob_download(const HttpRequest& request, HttpResponse& response) {
  const std::string digest = "sha256:" + std::string(blob_hex(request.path));
  auto refusal = signer_.refuse(digest, std::string(request.query_value("repository")),
                                std::string(request.query_value("expires")),
                                std::string(request.query_value("signature")),
                                std::chrono::system_clock::now());
  if (refusal) {
    send_error(response, ServiceError("AccessDenied", "Access denied: " + *refusal, 403), 403);
    return;
  }
  const Digest d = Digest::parse(digest);
  auto file = std::make_shared<const UniqueFd>(
      ::open(registry_.blobs().blob_path(d).c_str(), O_RDONLY | O_CLOEXEC));
  const auto size = registry_.blobs().size(d);
  if (!file->valid() || !size) {
    send_error(response, ServiceError("NoSuchKey", "The blob does not exist", 404), 404);
    return;
  }
  response.set_header("ETag", "\"" + std::string(d.hex()) + "\"");
  response.set_header("Content-Type", "application/octet-stream");
  answer_with_file(request, response, std::move(file), static_cast<std::uint64_t>(*size));
}

}  // namespace ecr::server
