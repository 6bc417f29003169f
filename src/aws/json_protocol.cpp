#include "aws/json_protocol.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <utility>

#include "aws/amz_date.hpp"
#include "aws/clock_skew.hpp"
#include "aws/sigv4.hpp"
#include "core/json_reader.hpp"
#include "ecr/digest.hpp"
#include "ecr/error.hpp"

namespace ecr::aws {

namespace {

constexpr const char* kContentType = "application/x-amz-json-1.1";

// Debug output shows this much of a body: enough for any control-plane
// document, while a 27 MB UploadLayerPart body does not flood the log.
constexpr std::size_t kDebugBodyLimit = 4096;

// An HTML error page quoted in a message: enough to recognise it.
constexpr std::size_t kQuotedBodyLimit = 256;

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// "com.amazonaws.ecr#RepositoryNotFoundException:http://internal..." ->
// "RepositoryNotFoundException": botocore keeps what follows '#' and
// precedes ':'.
std::string bare_error_name(std::string_view name) {
  name = name.substr(0, name.find(':'));
  if (auto hash = name.rfind('#'); hash != std::string_view::npos) name.remove_prefix(hash + 1);
  while (!name.empty() && std::isspace(static_cast<unsigned char>(name.back()))) {
    name.remove_suffix(1);
  }
  while (!name.empty() && std::isspace(static_cast<unsigned char>(name.front()))) {
    name.remove_prefix(1);
  }
  return std::string(name);
}

struct ErrorDocument {
  bool is_json = false;
  std::string name;
  std::string message;
};

std::string string_field(const simdjson::dom::object& object,
                         std::initializer_list<std::string_view> keys) {
  for (std::string_view key : keys) {
    std::string_view value;
    if (object[key].get_string().get(value) == simdjson::SUCCESS) return std::string(value);
  }
  return {};
}

ErrorDocument read_error_document(std::string_view body) {
  ErrorDocument document;
  simdjson::dom::object object;
  try {
    if (json::parse(json::thread_parser(), body, "error response").get_object().get(object) !=
        simdjson::SUCCESS) {
      return document;
    }
  } catch (const InputError&) {
    return document;
  }
  document.is_json = true;
  document.name = string_field(object, {"__type", "code", "Code"});
  document.message = string_field(object, {"message", "Message", "errorMessage"});
  return document;
}

// The start of a body that is not an error document, on one line.
std::string quote_body(std::string_view body) {
  if (body.empty()) return "(empty body)";
  std::string quoted(body.substr(0, kQuotedBodyLimit));
  std::replace_if(
      quoted.begin(), quoted.end(),
      [](char c) { return std::iscntrl(static_cast<unsigned char>(c)) != 0; }, ' ');
  if (body.size() > kQuotedBodyLimit) quoted += "...";
  return quoted;
}

// Secrets never reach debug output: the signature (it is valid for 15 minutes
// and replayable) and the session token.
std::string debug_header_value(std::string_view name, std::string_view value) {
  if (equals_ignoring_case(name, "X-Amz-Security-Token")) return "<redacted>";
  if (equals_ignoring_case(name, "Authorization")) {
    constexpr std::string_view kSignature = "Signature=";
    auto at = value.find(kSignature);
    if (at == std::string_view::npos) return "<redacted>";
    return std::string(value.substr(0, at + kSignature.size())) + "<redacted>";
  }
  return std::string(value);
}

void log_lines(const std::function<void(const std::string&)>& debug, std::string_view prefix,
               const http::Headers& headers, std::string_view body, std::size_t size) {
  for (const auto& [name, value] : headers) {
    debug(std::string(prefix) + name + ": " + debug_header_value(name, value));
  }
  std::string shown(body.substr(0, kDebugBodyLimit));
  if (size > kDebugBodyLimit) {
    shown += "... (" + std::to_string(size - kDebugBodyLimit) + " more bytes)";
  }
  debug(std::string(prefix) + shown);
}

// "+3600.000 s", "-1200.250 s".
std::string signed_seconds(std::chrono::milliseconds offset) {
  const long long ms = offset.count();
  const long long magnitude = ms < 0 ? -ms : ms;
  char text[48];
  std::snprintf(text, sizeof text, "%c%lld.%03lld s", ms < 0 ? '-' : '+', magnitude / 1000,
                magnitude % 1000);
  return text;
}

// Thrown by attempt() once it corrected the process's clock from a skew
// error. Not an ecr::Error: the retry policy lets it through without
// spending an attempt or backing off, and call() signs again.
struct ClockCorrected {};

}  // namespace

struct JsonProtocolClient::ErrorAnswer {
  std::string name;  // bare (no '#' prefix, no ':' suffix); empty when none
  std::string message;
  std::string request_id;
  bool is_json = false;  // the body is a JSON object
};

JsonProtocolClient::JsonProtocolClient(std::shared_ptr<http::Transport> transport,
                                       ResolvedConfig config, JsonServiceInfo service,
                                       ErrorThrower throw_error, int max_attempts,
                                       std::function<void(const std::string&)> debug)
    : JsonProtocolClient(
          std::move(transport), std::move(config), std::move(service), std::move(throw_error),
          std::make_shared<RetryPolicy>(RetryOptions{max_attempts, {}, {}}), std::move(debug)) {}

JsonProtocolClient::JsonProtocolClient(std::shared_ptr<http::Transport> transport,
                                       ResolvedConfig config, JsonServiceInfo service,
                                       ErrorThrower throw_error, std::shared_ptr<RetryPolicy> retry,
                                       std::function<void(const std::string&)> debug)
    : transport_(std::move(transport)),
      config_(std::move(config)),
      service_(std::move(service)),
      throw_error_(std::move(throw_error)),
      retry_(std::move(retry)),
      debug_(std::move(debug)),
      clock_([] { return std::chrono::system_clock::now(); }) {
  if (!transport_) throw InputError("JsonProtocolClient needs a transport");
  if (!retry_) throw InputError("JsonProtocolClient needs a retry policy");
}

std::string JsonProtocolClient::call(std::string_view operation, std::string_view body) {
  // Hashed once: the body is the same on every attempt, and may be 27 MB.
  return call(operation, body, Digest::of(body));
}

std::string JsonProtocolClient::call(std::string_view operation, std::string_view body,
                                     const Digest& body_sha256) {
  const std::string target = service_.target_prefix + "." + std::string(operation);
  const std::string payload_hash(body_sha256.hex());
  int attempts = 0;
  bool clock_corrected = false;
  try {
    for (;;) {
      try {
        return retry_->run([&] {
          ++attempts;
          return attempt(target, body, nullptr, payload_hash, !clock_corrected);
        });
      } catch (const ClockCorrected&) {
        // Signed again with the corrected clock, with the retry policy's
        // attempts whole: the skew was this client's fault, not the
        // service's. Once per call: a second skew error is thrown as it is.
        clock_corrected = true;
      }
    }
  } catch (ServiceError& e) {
    // Where the error leaves the retry loop: say which call it ended, and
    // after how many attempts (a throttled call's message says both).
    e.set_call(std::string(operation), attempts);
    throw;
  }
}

std::string JsonProtocolClient::call_once(std::string_view operation, std::string_view body,
                                          const Digest& body_sha256) {
  return once(operation, body, nullptr, body_sha256);
}

std::string JsonProtocolClient::call_once(std::string_view operation, const http::BodySource& body,
                                          const Digest& body_sha256) {
  return once(operation, {}, &body, body_sha256);
}

std::string JsonProtocolClient::once(std::string_view operation, std::string_view body,
                                     const http::BodySource* source, const Digest& body_sha256) {
  const std::string target = service_.target_prefix + "." + std::string(operation);
  const std::string payload_hash(body_sha256.hex());
  int attempts = 1;
  try {
    try {
      return attempt(target, body, source, payload_hash, /*may_correct_clock=*/true);
    } catch (const ClockCorrected&) {
      // A skewed clock is not the attempt the caller counts: sign again.
      ++attempts;
      return attempt(target, body, source, payload_hash, /*may_correct_clock=*/false);
    }
  } catch (ServiceError& e) {
    e.set_call(std::string(operation), attempts);
    throw;
  }
}

std::string JsonProtocolClient::attempt(const std::string& target, std::string_view body,
                                        const http::BodySource* source,
                                        const std::string& payload_hash, bool may_correct_clock) {
  http::Request request;
  request.method = "POST";
  request.url = config_.endpoint_url + "/";
  request.headers = {{"Content-Type", kContentType}, {"X-Amz-Target", target}};
  request.body = body;
  request.body_source = source;
  SigningParams signing;
  signing.credentials = config_.credentials;
  signing.region = config_.region;
  signing.service = service_.signing_name;
  signing.time = clock_() + clock_correction();
  sign_headers(request, signing, payload_hash);
  if (debug_) {
    debug_("> " + request.method + " " + request.url);
    if (source != nullptr) {
      // Only the start of a made body is shown: it is not held whole.
      std::string start(std::min(source->size(), kDebugBodyLimit + 1), '\0');
      source->read_at(0, start);
      log_lines(debug_, "> ", request.headers, start, source->size());
    } else {
      log_lines(debug_, "> ", request.headers, request.body, request.body.size());
    }
  }

  http::Response response = transport_->send(request);
  if (debug_) {
    debug_("< HTTP " + std::to_string(response.status));
    log_lines(debug_, "< ", response.headers, response.body, response.body.size());
  }
  if (response.status / 100 == 2) return std::move(response.body);
  const ErrorAnswer answer = read_error_answer(response);
  if (may_correct_clock) {
    if (auto correction =
            skew_correction(answer.name, answer.message, response.headers, signing.time, clock_)) {
      set_clock_correction(*correction);
      if (debug_) {
        debug_("* clock skew: " + answer.name + " for a request signed at " +
               format_amz_date(signing.time) + ", the server's Date is " +
               std::string(*http::find_header(response.headers, "Date")) +
               "; signing from now on with the local clock " + signed_seconds(*correction));
      }
      throw ClockCorrected{};
    }
  }
  throw_error_answer(response, answer);
}

JsonProtocolClient::ErrorAnswer JsonProtocolClient::read_error_answer(
    const http::Response& response) {
  const ErrorDocument document = read_error_document(response.body);
  ErrorAnswer answer;
  answer.name = document.name;
  if (answer.name.empty()) {
    if (auto header = http::find_header(response.headers, "x-amzn-ErrorType")) {
      answer.name = *header;
    }
  }
  answer.name = bare_error_name(answer.name);
  answer.message = document.message;
  answer.is_json = document.is_json;
  if (auto id = http::find_header(response.headers, "x-amzn-RequestId")) {
    answer.request_id = *id;
  } else if (auto s3_id = http::find_header(response.headers, "x-amz-request-id")) {
    answer.request_id = *s3_id;
  }
  return answer;
}

void JsonProtocolClient::throw_error_answer(const http::Response& response,
                                            const ErrorAnswer& answer) {
  if (answer.name.empty()) {
    // No error name anywhere, typically a proxy's or load balancer's page:
    // the status is all there is to go on (and decides whether to retry).
    throw ServiceError("HTTP " + std::to_string(response.status),
                       answer.is_json ? answer.message : quote_body(response.body), response.status,
                       answer.request_id);
  }
  throw_error_(answer.name, answer.message, response.status, answer.request_id, response.body);
  // The ErrorThrower contract says it throws; a thrower that returns must not
  // turn an error answer into a success.
  throw ServiceError(answer.name, answer.message, response.status, answer.request_id);
}

JsonProtocolClient::Clock shifted_system_clock(std::chrono::seconds shift) {
  return [shift] { return std::chrono::system_clock::now() + shift; };
}

}  // namespace ecr::aws
