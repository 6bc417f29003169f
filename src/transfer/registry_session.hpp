// One ECR repository seen through the awsJson protocol: the typed calls the
// transfer engine makes, plus the raw call for UploadLayerPart, whose body the
// engine builds in place (a part is never copied into a request struct).
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "api/serde.hpp"
#include "aws/json_protocol.hpp"
#include "aws/retry.hpp"
#include "ecr/config.hpp"
#include "ecr/reference.hpp"
#include "http/transport.hpp"

namespace ecr::transfer {

class RegistrySession {
 public:
  // `retry` is shared by every request of the session (one quota).
  RegistrySession(std::shared_ptr<http::Transport> transport, ResolvedConfig config,
                  std::shared_ptr<aws::RetryPolicy> retry, std::optional<std::string> registry_id,
                  std::string repository);

  // Resolves `config` (with the region of an ECR URI `ref` when the config
  // names none) and opens a session on `ref`'s repository. A null transport
  // means libcurl. `cancel` (not owned, may be null) stops the session's
  // retries once it reads true, and aborts the requests in flight of the
  // libcurl transport made here (a caller's transport aborts on its own
  // TransportOptions::abort, or not at all).
  static std::unique_ptr<RegistrySession> open(const ClientConfig& config,
                                               const ImageReference& ref,
                                               std::shared_ptr<http::Transport> transport,
                                               const std::atomic<bool>* cancel = nullptr);

  // Serializes `request`, calls `operation`, parses the answer as `Response`.
  template <class Response, class Request>
  Response call(std::string_view operation, const Request& request) {
    return api::from_json<Response>(client_.call(operation, api::to_json(request)));
  }
  // Sends an already-built JSON body whose SHA-256 the caller computed.
  std::string call_raw(std::string_view operation, std::string_view body,
                       const Digest& body_sha256) {
    return client_.call(operation, body, body_sha256);
  }
  // The same, one attempt, not retried: the caller retries (see
  // RetryPolicy::prepare_resume).
  std::string call_raw_once(std::string_view operation, std::string_view body,
                            const Digest& body_sha256) {
    return client_.call_once(operation, body, body_sha256);
  }
  // The same, for a body made as it is sent.
  std::string call_raw_once(std::string_view operation, const http::BodySource& body,
                            const Digest& body_sha256) {
    return client_.call_once(operation, body, body_sha256);
  }

  const std::optional<std::string>& registry_id() const noexcept { return registry_id_; }
  const std::string& repository() const noexcept { return repository_; }
  http::Transport& transport() noexcept { return *transport_; }
  // The policy every request of the session retries under (one quota).
  aws::RetryPolicy& retry_policy() noexcept { return client_.retry_policy(); }

 private:
  std::shared_ptr<http::Transport> transport_;
  aws::JsonProtocolClient client_;
  std::optional<std::string> registry_id_;
  std::string repository_;
};

}  // namespace ecr::transfer
