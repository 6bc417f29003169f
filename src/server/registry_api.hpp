// ecr-local's second door: the registry API (OCI Distribution Specification
// v1.1, `/v2/`), the one docker, podman, skopeo, crane and containerd speak,
// onto the same Registry as the ECR API, so an image pushed through either
// door is the same image through the other at once.
//
// Authentication is ECR's: HTTP Basic with the user AWS and the password
// GetAuthorizationToken issued (registry_token.hpp); anything else is
// answered 401 with a Basic challenge. Errors are the spec's JSON documents
// ({"errors":[{"code","message","detail"}]}) with its codes.
//
// Uploads are the ECR door's upload sessions: POST starts one (or mounts a
// layer from another repository where BLOB_MOUNTING allows, or takes a
// whole blob with ?digest=), PATCH appends a chunk, PUT ends it with the
// digest check, so a layer is verified and durable before it is visible
// exactly as through CompleteLayerUpload. Chunk bodies are streamed to the
// upload's file as they arrive (BodyPlan::kStream), never held whole.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "aws/sigv4.hpp"
#include "server/http_exchange.hpp"
#include "server/registry.hpp"
#include "server/registry_api_request.hpp"
#include "server/registry_token.hpp"
#include "server/throttle.hpp"

namespace ecr::server {

class RegistryApi {
 public:
  struct Options {
    bool require_auth = true;
    // The credential pairs a token may be bound to (the ECR API's keys).
    aws::SecretLookup secrets;
    // The Basic challenge's realm is <scheme>://<Host>/, or <public_url>/
    // when set (ServerOptions::public_url).
    std::string scheme = "http";
    std::optional<std::string> public_url;
    // Not owned; null: nothing is throttled. A request counts against the
    // ECR API operation it stands for (throttled_operation) and is refused
    // with 429 TOOMANYREQUESTS when that one's bucket is empty.
    Throttle* throttle = nullptr;
  };
  RegistryApi(Registry& registry, const RegistryTokens& tokens, Options options);

  // True for a path this door serves ("/v2" and everything under "/v2/").
  static bool serves(std::string_view path) noexcept;

  // HttpRoutes::screen for a /v2 request: answers what the header alone
  // decides (authentication, unknown routes, bad names, methods a route
  // does not take) and plans the body: chunks are streamed, manifests
  // buffered.
  BodyPlan screen(const HttpRequest& request, HttpResponse& response);
  // HttpRoutes::handle for a request screen() did not answer.
  void handle(HttpRequest& request, HttpResponse& response);
  // The ECR API operation a registry API request stands for, as ECR's own
  // registry API calls them: a blob HEAD is BatchCheckLayerAvailability, a
  // blob GET GetDownloadUrlForLayer, an upload's POST InitiateLayerUpload,
  // PATCH UploadLayerPart, PUT CompleteLayerUpload, a manifest PUT PutImage,
  // GET or HEAD BatchGetImage, DELETE BatchDeleteImage, tags/list
  // ListImages; empty for the rest (/v2/, referrers, an upload's GET and
  // DELETE, methods a route does not take).
  static std::string_view throttled_operation(const RegistryApiRoute& route,
                                              std::string_view method) noexcept;
  // HttpRoutes::refuse for a /v2 request, answered as the spec's errors;
  // `message`, when given, replaces the refusal's own words (the listener's
  // limits, which the server knows).
  static void refuse(Refusal why, HttpResponse& response, std::string_view message = {});

 private:
  void answer_blob(const HttpRequest& request, const RegistryApiRoute& route,
                   HttpResponse& response);
  void start_upload(HttpRequest& request, const RegistryApiRoute& route, HttpResponse& response);
  void answer_upload(HttpRequest& request, const RegistryApiRoute& route, HttpResponse& response);
  void finish_upload(const RegistryApiRoute& route, const std::string& session,
                     const std::string& digest, HttpResponse& response);
  void put_manifest(const HttpRequest& request, const RegistryApiRoute& route,
                    HttpResponse& response);
  void answer_manifest(const HttpRequest& request, const RegistryApiRoute& route,
                       HttpResponse& response);
  void delete_manifest(const RegistryApiRoute& route, HttpResponse& response);
  void answer_tags(const HttpRequest& request, const RegistryApiRoute& route,
                   HttpResponse& response);
  void answer_referrers(const HttpRequest& request, const RegistryApiRoute& route,
                        HttpResponse& response);

  Registry& registry_;
  const RegistryTokens& tokens_;
  Options options_;
};

}  // namespace ecr::server
