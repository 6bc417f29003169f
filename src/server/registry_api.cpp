#include "server/registry_api.hpp"

#include <fcntl.h>

#include <algorithm>
#include <charconv>
#include <exception>
#include <stdexcept>

#include "aws/image_tag.hpp"
#include "core/file.hpp"
#include "core/json_writer.hpp"
#include "ecr/digest.hpp"
#include "ecr/manifest.hpp"
#include "ecr/service_errors.hpp"
#include "http/transport.hpp"

namespace ecr::server {
namespace {

// ECR's quota on one layer (52,000 MiB): the most a chunk or a whole blob
// may carry.
constexpr std::uint64_t kMaxLayerBytes = 52'000ull * 1024 * 1024;
// Bodies of requests that carry none by the spec (GET, HEAD, DELETE, a
// mount): a little is read and ignored rather than refused.
constexpr std::uint64_t kMaxIgnoredBody = 64 * 1024;
// The most tags one tags/list page holds, as ECR's registry API.
constexpr std::size_t kMaxTagsPage = 1000;

constexpr std::string_view kPrefix = "/v2/";
constexpr const char* kOciIndex = "application/vnd.oci.image.index.v1+json";

// An answer in the spec's words, thrown from anywhere in a handler.
class ApiError : public std::runtime_error {
 public:
  ApiError(int status, std::string code, const std::string& message)
      : std::runtime_error(message), status_(status), code_(std::move(code)) {}
  int status() const noexcept { return status_; }
  const std::string& code() const noexcept { return code_; }

 private:
  int status_;
  std::string code_;
};

void answer_error(HttpResponse& response, int status, std::string_view code,
                  std::string_view message) {
  response.status = status;
  response.file.reset();
  response.body.clear();
  json::Writer w(response.body);
  w.begin_object();
  w.key("errors");
  w.begin_array();
  w.begin_object();
  w.key("code");
  w.string(code);
  w.key("message");
  w.string(message);
  w.key("detail");
  w.begin_object();
  w.end_object();
  w.end_object();
  w.end_array();
  w.end_object();
  response.set_header("Content-Type", "application/json");
}

// The Registry's errors (ECR API names) in the spec's codes.
ApiError translate(const ServiceError& e) {
  const std::string& name = e.name();
  const std::string& message = e.message();
  if (name == "RepositoryNotFoundException") return {404, "NAME_UNKNOWN", message};
  if (name == "UploadNotFoundException") return {404, "BLOB_UPLOAD_UNKNOWN", message};
  if (name == "InvalidLayerPartException") return {416, "BLOB_UPLOAD_INVALID", message};
  if (name == "InvalidLayerException" || name == "ImageDigestDoesNotMatchException") {
    return {400, "DIGEST_INVALID", message};
  }
  if (name == "EmptyUploadException" || name == "LayerPartTooSmallException") {
    return {400, "BLOB_UPLOAD_INVALID", message};
  }
  if (name == "LayersNotFoundException" || name == "ReferencedImagesNotFoundException") {
    return {400, "MANIFEST_BLOB_UNKNOWN", message};
  }
  if (name == "ImageTagAlreadyExistsException") return {400, "TAG_INVALID", message};
  if (name == "ImageNotFoundException") return {404, "MANIFEST_UNKNOWN", message};
  if (name == "LimitExceededException") return {429, "TOOMANYREQUESTS", message};
  if (e.http_status() >= 500) return {500, "UNKNOWN", message};
  return {400, "UNSUPPORTED", message};
}

std::string repository_path(const std::string& name) { return std::string(kPrefix) + name; }

// "0-<last byte>" as the spec's upload Range header; "0-0" for nothing yet,
// as distribution answers.
std::string upload_range(std::int64_t size) {
  return "0-" + std::to_string(size > 0 ? size - 1 : 0);
}

// A chunk on its way into an upload session. The session is opened at the
// first piece, on a handler thread (it reads SQLite; screen() must not), so
// a request that sends no byte opens nothing until handle(). A failure is
// kept and answered by handle(); the pieces after it are not taken.
class UploadBody final : public BodyStream {
 public:
  // `session` empty: a new session is started for the bytes (POST).
  UploadBody(Registry& registry, std::string repository, std::string session,
             std::optional<ChunkRange> range)
      : registry_(registry),
        repository_(std::move(repository)),
        session_(std::move(session)),
        range_(range) {}

  bool write(std::string_view piece) override {
    if (failure_) return false;
    try {
      open().write(piece);
      return true;
    } catch (...) {
      failure_ = std::current_exception();
      append_.reset();
      return false;
    }
  }

  // The append this request made: opened here for a body without bytes.
  // Rethrows what stopped the body.
  UploadAppend& open() {
    if (failure_) std::rethrow_exception(failure_);
    if (!append_) {
      if (session_.empty()) {
        registry_.repository_for_push(repository_);  // create-on-push
        session_ = registry_.initiate_upload(repository_);
      }
      append_ = registry_.append_to_upload(repository_, session_);
      if (range_ && range_->first != static_cast<std::uint64_t>(append_->first_byte())) {
        const std::int64_t size = append_->first_byte();
        append_.reset();
        throw ApiError(416, "BLOB_UPLOAD_INVALID",
                       "the chunk starts at byte " + std::to_string(range_->first) +
                           " but the upload holds " + std::to_string(size) + " bytes");
      }
    }
    return *append_;
  }

  // Makes the chunk durable and part of the session; returns its size.
  std::int64_t commit() {
    UploadAppend& append = open();
    if (range_ &&
        range_->last - range_->first + 1 != static_cast<std::uint64_t>(append.bytes_written())) {
      throw ApiError(416, "BLOB_UPLOAD_INVALID",
                     "Content-Range names " + std::to_string(range_->last - range_->first + 1) +
                         " bytes but the chunk carried " + std::to_string(append.bytes_written()));
    }
    const std::int64_t size = append.commit();
    append_.reset();
    return size;
  }

  const std::string& session() const noexcept { return session_; }

 private:
  Registry& registry_;
  std::string repository_;
  std::string session_;
  std::optional<ChunkRange> range_;
  std::unique_ptr<UploadAppend> append_;
  std::exception_ptr failure_;
};

// A manifest reference of the path: a digest, else a tag.
ImageRef image_ref(const std::string& reference) {
  ImageRef ref;
  if (Digest::valid(reference)) {
    ref.digest = reference;
  } else {
    ref.tag = reference;
  }
  return ref;
}

// The request's streamed chunk; a fresh, empty one for a request that sent
// no body (the listener streams only bodies it reads).
UploadBody& chunk_of(HttpRequest& request, std::optional<UploadBody>& fresh, Registry& registry,
                     const std::string& repository, const std::string& session) {
  if (auto* body = dynamic_cast<UploadBody*>(request.stream.get())) return *body;
  if (request.body_bytes > 0) throw std::logic_error("an upload body was not streamed");
  return fresh.emplace(registry, repository, session, std::nullopt);
}

}  // namespace

RegistryApi::RegistryApi(Registry& registry, const RegistryTokens& tokens, Options options)
    : registry_(registry), tokens_(tokens), options_(std::move(options)) {}

bool RegistryApi::serves(std::string_view path) noexcept {
  return path == "/v2" || path.starts_with(kPrefix);
}

BodyPlan RegistryApi::screen(const HttpRequest& request, HttpResponse& response) {
  using Kind = RegistryApiRoute::Kind;
  response.set_header("Docker-Distribution-API-Version", "registry/2.0");
  auto refuse = [&](int status, std::string_view code, std::string_view message) {
    answer_error(response, status, code, message);
    return BodyPlan::answered();
  };

  if (options_.require_auth) {
    const auto password = basic_auth_password(request.header("Authorization"));
    std::optional<std::string> why =
        password ? tokens_.refuse(*password, options_.secrets, std::chrono::system_clock::now())
                 : std::optional<std::string>(
                       "authentication required: log in with the user AWS "
                       "and the password from GetAuthorizationToken");
    if (why) {
      const std::string realm = options_.public_url.value_or(options_.scheme + "://" +
                                                             std::string(request.header("Host")));
      response.set_header("WWW-Authenticate",
                          "Basic realm=\"" + realm + "/\",service=\"ecr.amazonaws.com\"");
      return refuse(401, "UNAUTHORIZED", *why);
    }
  }

  const auto route = parse_registry_api_path(request.path);
  if (!route) return refuse(404, "NOT_FOUND", "no registry API route for " + request.path);
  if (route->kind != Kind::kBase && !is_valid_repository_name(route->name)) {
    return refuse(400, "NAME_INVALID", "invalid repository name '" + route->name + "'");
  }
  const std::string& method = request.method;
  // As through the ECR API: after authentication, before the request is
  // looked at further, and before its body is read.
  if (options_.throttle != nullptr &&
      !options_.throttle->admit(throttled_operation(*route, method))) {
    return refuse(429, "TOOMANYREQUESTS", "Rate exceeded");
  }
  const bool read = method == "GET" || method == "HEAD";
  auto unsupported = [&] {
    return refuse(405, "UNSUPPORTED", method + " is not supported on " + request.path);
  };
  switch (route->kind) {
    case Kind::kBase:
    case Kind::kTags:
    case Kind::kReferrers:
      if (!read) return unsupported();
      break;
    case Kind::kBlob:
      if (method == "DELETE") {
        return refuse(405, "UNSUPPORTED",
                      "layers are not deleted through the registry API; they go with the "
                      "last image that references them");
      }
      if (!read) return unsupported();
      if (!Digest::valid(route->reference)) {
        return refuse(400, "DIGEST_INVALID", "invalid digest '" + route->reference + "'");
      }
      break;
    case Kind::kUploadStart:
      if (method != "POST") return unsupported();
      return BodyPlan::streamed(
          std::make_shared<UploadBody>(registry_, route->name, std::string(), std::nullopt),
          kMaxLayerBytes);
    case Kind::kUpload: {
      if (!is_upload_id(route->reference)) {
        return refuse(404, "BLOB_UPLOAD_UNKNOWN", "no upload '" + route->reference + "'");
      }
      if (method == "GET" || method == "DELETE") break;
      if (method != "PATCH" && method != "PUT") return unsupported();
      std::optional<ChunkRange> range;
      if (method == "PATCH" && request.has_header("Content-Range")) {
        range = parse_chunk_range(request.header("Content-Range"));
        if (!range) {
          return refuse(
              416, "BLOB_UPLOAD_INVALID",
              "invalid Content-Range '" + std::string(request.header("Content-Range")) + "'");
        }
      }
      if (method == "PUT" && !Digest::valid(request.query_value("digest"))) {
        return refuse(400, "DIGEST_INVALID",
                      "the PUT that completes an upload needs ?digest=<algorithm>:<hex>, got '" +
                          std::string(request.query_value("digest")) + "'");
      }
      return BodyPlan::streamed(
          std::make_shared<UploadBody>(registry_, route->name, route->reference, range),
          kMaxLayerBytes);
    }
    case Kind::kManifest:
      if (method == "PUT") return BodyPlan::buffer(kMaxManifestBytes);
      if (!read && method != "DELETE") return unsupported();
      break;
  }
  return BodyPlan::buffer(kMaxIgnoredBody);
}

void RegistryApi::handle(HttpRequest& request, HttpResponse& response) {
  using Kind = RegistryApiRoute::Kind;
  const RegistryApiRoute route = *parse_registry_api_path(request.path);
  try {
    switch (route.kind) {
      case Kind::kBase:
        response.status = 200;
        response.set_header("Content-Type", "application/json");
        response.body = "{}";
        return;
      case Kind::kBlob:
        return answer_blob(request, route, response);
      case Kind::kUploadStart:
        return start_upload(request, route, response);
      case Kind::kUpload:
        return answer_upload(request, route, response);
      case Kind::kManifest:
        if (request.method == "PUT") return put_manifest(request, route, response);
        if (request.method == "DELETE") return delete_manifest(route, response);
        return answer_manifest(request, route, response);
      case Kind::kTags:
        return answer_tags(request, route, response);
      case Kind::kReferrers:
        return answer_referrers(request, route, response);
    }
  } catch (const ApiError& e) {
    answer_error(response, e.status(), e.code(), e.what());
  } catch (const ServiceError& e) {
    const ApiError api = translate(e);
    answer_error(response, api.status(), api.code(), api.what());
  }
}

std::string_view RegistryApi::throttled_operation(const RegistryApiRoute& route,
                                                  std::string_view method) noexcept {
  using Kind = RegistryApiRoute::Kind;
  const bool read = method == "GET" || method == "HEAD";
  switch (route.kind) {
    case Kind::kBlob:
      if (method == "HEAD") return "BatchCheckLayerAvailability";
      if (method == "GET") return "GetDownloadUrlForLayer";
      break;
    case Kind::kUploadStart:
      if (method == "POST") return "InitiateLayerUpload";
      break;
    case Kind::kUpload:
      if (method == "PATCH") return "UploadLayerPart";
      if (method == "PUT") return "CompleteLayerUpload";
      break;
    case Kind::kManifest:
      if (method == "PUT") return "PutImage";
      if (read) return "BatchGetImage";
      if (method == "DELETE") return "BatchDeleteImage";
      break;
    case Kind::kTags:
      if (read) return "ListImages";
      break;
    case Kind::kBase:
    case Kind::kReferrers:
      break;
  }
  return {};
}

void RegistryApi::refuse(Refusal why, HttpResponse& response, std::string_view message) {
  response.set_header("Docker-Distribution-API-Version", "registry/2.0");
  auto answer = [&](int status, std::string_view code, std::string_view words) {
    answer_error(response, status, code, message.empty() ? words : message);
  };
  switch (why) {
    case Refusal::kBodyTooLarge:
      return answer(413, "SIZE_INVALID", "the request body is larger than this route takes");
    case Refusal::kHeaderTooLarge:
      return answer(431, "UNSUPPORTED", "the request header is too large");
    case Refusal::kTooManyHeaderFields:
      return answer(431, "UNSUPPORTED", "the request header has too many fields");
    case Refusal::kHeaderFieldTooLarge:
      return answer(431, "UNSUPPORTED", "a request header field is too large");
    case Refusal::kTargetTooLong:
      return answer(414, "UNSUPPORTED", "the request target is too long");
    case Refusal::kIncompleteBody:
      return answer(400, "BLOB_UPLOAD_INVALID",
                    "the connection ended before the request body was complete");
    case Refusal::kTooManyConnections:
      return answer(503, "TOOMANYREQUESTS", "too many open connections");
    case Refusal::kInternal:
      return answer(500, "UNKNOWN", "internal error");
    case Refusal::kTlsOnPlainListener:
      return answer(400, "UNSUPPORTED", kTlsOnPlainListenerMessage);
    case Refusal::kPlainHttpOnTlsListener:
      return answer(400, "UNSUPPORTED", kPlainHttpOnTlsListenerMessage);
    case Refusal::kMalformed:
      break;
  }
  answer(400, "UNSUPPORTED", "malformed HTTP request");
}

// HEAD/GET /v2/<name>/blobs/<digest>: the bytes, served here rather than
// through a redirect (ECR redirects to S3; every client follows either).
void RegistryApi::answer_blob(const HttpRequest& request, const RegistryApiRoute& route,
                              HttpResponse& response) {
  const auto size = registry_.layer_size(route.name, route.reference);
  if (size && registry_.layer_archived(route.name, route.reference)) {
    throw ApiError(404, "BLOB_UNKNOWN",
                   "blob " + route.reference + " in repository " + route.name +
                       " is referenced only by archived images; restore one of them with "
                       "UpdateImageStorageClass to pull it");
  }
  const Digest digest = Digest::parse(route.reference);
  auto file = std::make_shared<const UniqueFd>(
      size ? ::open(registry_.blobs().blob_path(digest).c_str(), O_RDONLY | O_CLOEXEC) : -1);
  if (!file->valid()) {
    throw ApiError(404, "BLOB_UNKNOWN",
                   "blob " + route.reference + " is not in repository " + route.name);
  }
  response.set_header("Docker-Content-Digest", route.reference);
  response.set_header("ETag", "\"" + route.reference + "\"");
  response.set_header("Content-Type", "application/octet-stream");
  answer_with_file(request, response, std::move(file), static_cast<std::uint64_t>(*size));
}

// POST /v2/<name>/blobs/uploads/: a mount, a whole blob (?digest=), or a
// new session for chunks.
void RegistryApi::start_upload(HttpRequest& request, const RegistryApiRoute& route,
                               HttpResponse& response) {
  registry_.repository_for_push(route.name);  // create-on-push, mount or upload alike
  const std::string mount(request.query_value("mount"));
  const std::string from(request.query_value("from"));
  if (!mount.empty() && request.body_bytes == 0 && Digest::valid(mount) &&
      is_valid_repository_name(from) &&
      registry_.account_setting("BLOB_MOUNTING").value_or("DISABLED") == "ENABLED" &&
      registry_.mount_layer(route.name, from, mount)) {
    response.status = 201;
    response.set_header("Location", repository_path(route.name) + "/blobs/" + mount);
    response.set_header("Docker-Content-Digest", mount);
    return;
  }
  std::optional<UploadBody> fresh;
  UploadBody& upload = chunk_of(request, fresh, registry_, route.name, std::string());
  const std::int64_t size = upload.commit();
  const std::string digest(request.query_value("digest"));
  if (!digest.empty()) return finish_upload(route, upload.session(), digest, response);
  response.status = 202;
  response.set_header("Location",
                      repository_path(route.name) + "/blobs/uploads/" + upload.session());
  response.set_header("Range", upload_range(size));
  response.set_header("Docker-Upload-UUID", upload.session());
}

// GET (status), PATCH (a chunk), PUT (the last chunk, then the digest
// check), DELETE (cancel) on /v2/<name>/blobs/uploads/<session>.
void RegistryApi::answer_upload(HttpRequest& request, const RegistryApiRoute& route,
                                HttpResponse& response) {
  const std::string& session = route.reference;
  if (request.method == "DELETE") {
    registry_.cancel_upload(route.name, session);
    response.status = 204;
    return;
  }
  std::int64_t size = 0;
  if (request.method == "GET") {
    size = registry_.upload_size(route.name, session);
    response.status = 204;
  } else {
    std::optional<UploadBody> fresh;
    size = chunk_of(request, fresh, registry_, route.name, session).commit();
    if (request.method == "PUT") {
      return finish_upload(route, session, std::string(request.query_value("digest")), response);
    }
    response.status = 202;
  }
  response.set_header("Location", repository_path(route.name) + "/blobs/uploads/" + session);
  response.set_header("Range", upload_range(size));
  response.set_header("Docker-Upload-UUID", session);
}

void RegistryApi::finish_upload(const RegistryApiRoute& route, const std::string& session,
                                const std::string& digest, HttpResponse& response) {
  if (!Digest::valid(digest))
    throw ApiError(400, "DIGEST_INVALID", "invalid digest '" + digest + "'");
  try {
    registry_.complete_upload(route.name, session, {digest});
  } catch (const api::LayerAlreadyExistsException&) {
    // The repository had it already: the session is gone, the blob is there.
  }
  response.status = 201;
  response.set_header("Location", repository_path(route.name) + "/blobs/" + digest);
  response.set_header("Docker-Content-Digest", digest);
}

// PUT /v2/<name>/manifests/<tag or digest>: PutImage's rules (the layers
// and child manifests must be in the repository, tag immutability).
void RegistryApi::put_manifest(const HttpRequest& request, const RegistryApiRoute& route,
                               HttpResponse& response) {
  const std::string body(request.body());
  const ParsedManifest manifest = [&] {
    try {
      return parse_manifest(body, request.header("Content-Type"));
    } catch (const InputError& e) {
      throw ApiError(400, "MANIFEST_INVALID", e.what());
    }
  }();
  std::optional<std::string> tag;
  std::optional<std::string> expected_digest;
  if (Digest::valid(route.reference)) {
    expected_digest = route.reference;
  } else if (aws::is_valid_image_tag(route.reference)) {
    tag = route.reference;
  } else {
    throw ApiError(400, "TAG_INVALID", "invalid tag '" + route.reference + "'");
  }
  const std::string digest = manifest.digest.str();
  registry_.repository_for_push(route.name);  // create-on-push
  try {
    registry_.put_image(route.name, body, facts_of(manifest), tag, expected_digest);
  } catch (const api::ImageAlreadyExistsException&) {
    // The same manifest under the same tag again: nothing to change.
  }
  response.status = 201;
  response.set_header("Location", repository_path(route.name) + "/manifests/" + digest);
  response.set_header("Docker-Content-Digest", digest);
  if (manifest.subject) response.set_header("OCI-Subject", manifest.subject->digest.str());
}

// HEAD/GET /v2/<name>/manifests/<tag or digest>, as stored, when the
// client's Accept list admits its media type.
void RegistryApi::answer_manifest(const HttpRequest& request, const RegistryApiRoute& route,
                                  HttpResponse& response) {
  const ImageRef ref = image_ref(route.reference);
  std::vector<ImageFailure> failures;
  // A HEAD (docker's "is it there?") is not a pull; a GET records one.
  std::vector<ImageInfo> found =
      registry_.get_images(route.name, {ref}, failures, request.method == "GET");
  if (found.empty()) {
    // An archived image is 404, as ECR answers its pulls, saying why.
    if (!failures.empty() && failures.front().code == "ImageInaccessible") {
      throw ApiError(404, "MANIFEST_UNKNOWN",
                     "manifest " + route.reference + " in repository " + route.name + ": " +
                         failures.front().reason);
    }
    throw ApiError(404, "MANIFEST_UNKNOWN",
                   "manifest " + route.reference + " is not in repository " + route.name);
  }
  const ImageInfo& image = found.front();
  const std::vector<std::string> accepted = accepted_media_types(request);
  if (!accepted.empty() && std::find(accepted.begin(), accepted.end(), "*/*") == accepted.end() &&
      std::find(accepted.begin(), accepted.end(), image.media_type) == accepted.end()) {
    throw ApiError(404, "MANIFEST_UNKNOWN",
                   "manifest " + route.reference + " is " + image.media_type +
                       ", which the request's Accept header does not list");
  }
  response.status = 200;
  response.set_header("Content-Type", image.media_type);
  response.set_header("Docker-Content-Digest", image.digest);
  response.set_header("ETag", "\"" + image.digest + "\"");
  response.body = image.manifest;
}

// DELETE /v2/<name>/manifests/<digest or tag>: BatchDeleteImage's rules (a
// tag goes alone; a digest takes the image and its tags).
void RegistryApi::delete_manifest(const RegistryApiRoute& route, HttpResponse& response) {
  const ImageRef ref = image_ref(route.reference);
  std::vector<ImageFailure> failures;
  registry_.delete_images(route.name, {ref}, failures);
  if (!failures.empty()) {
    throw ApiError(404, "MANIFEST_UNKNOWN", failures.front().reason);
  }
  response.status = 202;
}

// GET /v2/<name>/tags/list[?n=<count>&last=<tag>]: tags in byte order,
// after `last`, at most n (and at most kMaxTagsPage) with a Link to the next
// page when more follow.
void RegistryApi::answer_tags(const HttpRequest& request, const RegistryApiRoute& route,
                              HttpResponse& response) {
  std::size_t limit = kMaxTagsPage;
  if (request.query_value("n").size() > 0) {
    const std::string_view n = request.query_value("n");
    std::size_t value = 0;
    auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), value);
    if (ec != std::errc() || end != n.data() + n.size()) {
      throw ApiError(400, "PAGINATION_NUMBER_INVALID",
                     "invalid page size n='" + std::string(n) + "'");
    }
    limit = std::min(value, kMaxTagsPage);
  }
  const std::string last(request.query_value("last"));
  const std::vector<std::string> all = registry_.tags(route.name);
  auto it = last.empty() ? all.begin() : std::upper_bound(all.begin(), all.end(), last);
  const std::size_t available = static_cast<std::size_t>(all.end() - it);
  const std::size_t count = std::min(limit, available);
  response.body.clear();
  json::Writer w(response.body);
  w.begin_object();
  w.key("name");
  w.string(route.name);
  w.key("tags");
  w.begin_array();
  for (std::size_t i = 0; i < count; ++i) w.string(it[static_cast<std::ptrdiff_t>(i)]);
  w.end_array();
  w.end_object();
  if (count < available && count > 0) {
    response.set_header(
        "Link", "<" + repository_path(route.name) + "/tags/list?n=" + std::to_string(limit) +
                    "&last=" + it[static_cast<std::ptrdiff_t>(count - 1)] + ">; rel=\"next\"");
  }
  response.status = 200;
  response.set_header("Content-Type", "application/json");
}

// GET /v2/<name>/referrers/<digest>[?artifactType=<type>]: an OCI index of
// the manifests whose subject is <digest> (empty when none is).
void RegistryApi::answer_referrers(const HttpRequest& request, const RegistryApiRoute& route,
                                   HttpResponse& response) {
  if (!Digest::valid(route.reference)) {
    throw ApiError(400, "DIGEST_INVALID", "invalid digest '" + route.reference + "'");
  }
  const std::string filter(request.query_value("artifactType"));
  response.body.clear();
  json::Writer w(response.body);
  w.begin_object();
  w.key("schemaVersion");
  w.integer(2);
  w.key("mediaType");
  w.string(kOciIndex);
  w.key("manifests");
  w.begin_array();
  for (const ImageInfo& image : registry_.referrers(route.name, route.reference)) {
    const ParsedManifest m = parse_manifest(image.manifest, image.media_type);
    std::string artifact_type = m.artifact_type;
    if (artifact_type.empty() && m.config) artifact_type = m.config->media_type;
    if (!filter.empty() && artifact_type != filter) continue;
    w.begin_object();
    w.key("mediaType");
    w.string(image.media_type);
    w.key("digest");
    w.string(image.digest);
    w.key("size");
    w.integer(static_cast<std::int64_t>(image.manifest.size()));
    if (!artifact_type.empty()) {
      w.key("artifactType");
      w.string(artifact_type);
    }
    if (!m.annotations.empty()) {
      w.key("annotations");
      w.begin_object();
      for (const auto& [key, value] : m.annotations) {
        w.key(key);
        w.string(value);
      }
      w.end_object();
    }
    w.end_object();
  }
  w.end_array();
  w.end_object();
  if (!filter.empty()) response.set_header("OCI-Filters-Applied", "artifactType");
  response.status = 200;
  response.set_header("Content-Type", kOciIndex);
}

}  // namespace ecr::server
