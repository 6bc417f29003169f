// The ECR API as ecr-local serves it: decodes an awsJson1_1 request body with
// the generated model types, validates it against the model's constraints,
// runs it on the Registry and encodes the response with the generated
// serialisers. Wire concerns (HTTP, signatures, status codes) stay in
// http_server; domain rules stay in Registry.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "server/download_url.hpp"
#include "server/registry.hpp"
#include "server/registry_token.hpp"
#include "server/request_scratch.hpp"

namespace ecr::server {

// What a handler knows about the request beyond its body.
struct RequestContext {
  // scheme://host[:port] that clients reach this server at (from --public-url
  // or the request's Host header): download URLs and proxyEndpoint use it.
  std::string base_url;
  // The credential pair the request was signed with (the configured pair
  // under --no-auth): GetAuthorizationToken binds its token to it.
  std::string access_key;
  std::string secret_key;
};

class Operations {
 public:
  // `download_url_lifetime`: how long a GetDownloadUrlForLayer URL stays valid.
  Operations(Registry& registry, const DownloadSigner& signer, const RegistryTokens& tokens,
             std::chrono::seconds download_url_lifetime);

  // Runs `operation` (e.g. "CreateRepository") on the JSON request `body`
  // and returns the JSON response body. Throws ServiceError named as ECR
  // names it: SerializationException for a body that is not a JSON object or
  // has a member of the wrong type, InvalidParameterException for a broken
  // model constraint (the message names the member), UnknownOperationException
  // for a name the model lacks, UnsupportedOperationException for a model
  // operation ecr-local does not implement, and the operation's own errors.
  std::string invoke(std::string_view operation, std::string_view body,
                     const RequestContext& context);
  // The same for the body in `scratch.body` (padded as RequestScratch says):
  // parsed where it lies with the scratch's parser, a layer part decoded into
  // scratch.part. An UploadLayerPart's base64 is decoded from where it lies
  // and cut out of scratch.body before the rest is parsed
  // (layer_part_body.hpp), or taken from scratch.intake when the listener
  // decoded it as it arrived (layer_part_intake.hpp). Answers and errors are
  // exactly those of the other form.
  std::string invoke(std::string_view operation, RequestScratch& scratch,
                     const RequestContext& context);

  // True when ecr-local implements `operation`.
  static bool implements(std::string_view operation) noexcept;

 private:
  // `decoded_part`: UploadLayerPart's part, already decoded from the body
  // (whose layerPartBlob is then empty); see invoke(RequestScratch&).
  // `taken_in`: what the intake found out about it, when it decoded it.
  std::string dispatch(std::string_view operation, simdjson::dom::parser& parser,
                       std::string_view body, bool padded, std::string* part_buffer,
                       const RequestContext& context,
                       std::optional<std::string_view> decoded_part = std::nullopt,
                       LayerPartIntake::Part* taken_in = nullptr);

  Registry& registry_;
  const DownloadSigner& signer_;
  const RegistryTokens& tokens_;
  std::chrono::seconds download_url_lifetime_;
};

}  // namespace ecr::server
