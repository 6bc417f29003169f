#include "transfer/fake_registry.hpp"

#include <algorithm>
#include <thread>

#include "api/serde.hpp"
#include "core/json_writer.hpp"
#include "ecr/digest.hpp"
#include "ecr/error.hpp"

namespace ecr::testing {
namespace {

http::Response json_answer(int status, std::string body) {
  http::Response r;
  r.status = status;
  r.headers = {{"Content-Type", "application/x-amz-json-1.1"}};
  r.body = std::move(body);
  return r;
}

http::Response error_answer(const std::string& type, const std::string& message,
                            std::optional<std::int64_t> last_valid = std::nullopt) {
  std::string body;
  json::Writer w(body);
  w.begin_object();
  w.key("__type");
  w.string(type);
  w.key("message");
  w.string(message);
  if (last_valid) {
    w.key("lastValidByteReceived");
    w.integer(*last_valid);
  }
  w.end_object();
  return json_answer(400, body);
}

}  // namespace

http::Response FakeRegistry::send(const http::Request& request) {
  if (request.method == "POST" && request.body_source != nullptr) {
    // A body made as it is sent (a part's): taken whole, as a server reads it.
    const std::string body = http::body_text(request);
    http::Request whole = request;
    whole.body = body;
    whole.body_source = nullptr;
    return handle_api(whole);
  }
  if (request.method == "POST") return handle_api(request);
  std::string body;
  http::Response r = handle_get(request, [&](std::string_view chunk) {
    body.append(chunk);
    return true;
  });
  if (r.status / 100 == 2) r.body = std::move(body);
  return r;
}

http::Response FakeRegistry::send(const http::Request& request, const http::BodySink& sink) {
  if (request.method == "POST") return send(request);
  return handle_get(request, sink);
}

http::Response FakeRegistry::handle_api(const http::Request& request) {
  const std::string target(http::find_header(request.headers, "X-Amz-Target").value_or(""));
  const std::string op = target.substr(target.find('.') + 1);
  const std::lock_guard lock(mutex_);
  operations_.push_back(op);
  if (op == throttle_operation && throttles > 0) {
    --throttles;
    return error_answer("ThrottlingException", "Rate exceeded");
  }
  if (op == "CreateRepository") return json_answer(200, "{}");
  if (op == "BatchCheckLayerAvailability") {
    auto req = api::from_json<api::BatchCheckLayerAvailabilityRequest>(request.body);
    api::BatchCheckLayerAvailabilityResponse resp;
    resp.layers.emplace();
    resp.failures.emplace();
    for (const auto& d : req.layerDigests) {
      if (blobs_.contains(d)) {
        resp.layers->push_back({.layerAvailability = "AVAILABLE",
                                .layerDigest = d,
                                .layerSize = static_cast<std::int64_t>(blobs_[d].size()),
                                .mediaType = std::nullopt});
      } else {
        resp.failures->push_back(
            {.failureCode = "MissingLayerDigest", .failureReason = "Missing", .layerDigest = d});
      }
    }
    return json_answer(200, api::to_json(resp));
  }
  if (op == "InitiateLayerUpload") {
    const std::string id = "upload-" + std::to_string(next_upload_++);
    uploads_[id] = {};
    api::InitiateLayerUploadResponse resp{.partSize = part_size, .uploadId = id};
    return json_answer(200, api::to_json(resp));
  }
  if (op == "UploadLayerPart") {
    auto req = api::from_json<api::UploadLayerPartRequest>(request.body);
    auto it = uploads_.find(req.uploadId);
    if (it == uploads_.end()) return error_answer("UploadNotFoundException", "no upload");
    if (vanish_upload_at && req.partFirstByte >= *vanish_upload_at) {
      vanish_upload_at.reset();
      uploads_.erase(it);
      return error_answer("UploadNotFoundException", "upload vanished (scripted)");
    }
    std::string& have = it->second.bytes;
    if (forget && req.partFirstByte >= forget->first) {
      have.resize(static_cast<std::size_t>(
          std::min<std::int64_t>(forget->second, static_cast<std::int64_t>(have.size()))));
      forget.reset();
    }
    part_bytes_ += static_cast<std::int64_t>(req.layerPartBlob.size());
    const auto held = static_cast<std::int64_t>(have.size());
    if (req.partFirstByte != held || req.partLastByte - req.partFirstByte + 1 !=
                                         static_cast<std::int64_t>(req.layerPartBlob.size())) {
      return error_answer("InvalidLayerPartException", "part out of order", held - 1);
    }
    if (reset_part_at && *reset_part_at >= req.partFirstByte &&
        *reset_part_at <= req.partLastByte) {
      have.append(req.layerPartBlob.substr(
          0, static_cast<std::size_t>(*reset_part_at - req.partFirstByte + 1)));
      reset_part_at.reset();
      throw TransportError("connection reset by peer (scripted)");
    }
    have.append(req.layerPartBlob);
    api::UploadLayerPartResponse resp;
    resp.uploadId = req.uploadId;
    resp.lastByteReceived = req.partLastByte;
    return json_answer(200, api::to_json(resp));
  }
  if (op == "CompleteLayerUpload") {
    auto req = api::from_json<api::CompleteLayerUploadRequest>(request.body);
    auto it = uploads_.find(req.uploadId);
    if (it == uploads_.end()) return error_answer("UploadNotFoundException", "no upload");
    const std::string digest = Digest::of(it->second.bytes).str();
    if (digest != req.layerDigests.at(0)) {
      return error_answer("InvalidLayerException", "digest mismatch: " + digest);
    }
    if (blobs_.contains(digest)) return error_answer("LayerAlreadyExistsException", "exists");
    blobs_[digest] = std::move(it->second.bytes);
    uploads_.erase(it);
    api::CompleteLayerUploadResponse resp;
    resp.layerDigest = digest;
    resp.uploadId = req.uploadId;
    return json_answer(200, api::to_json(resp));
  }
  if (op == "PutImage") {
    auto req = api::from_json<api::PutImageRequest>(request.body);
    const std::string digest = Digest::of(req.imageManifest).str();
    put_digests_.push_back(digest);
    images_[digest] = {req.imageManifest, req.imageManifestMediaType.value_or(""), digest};
    if (req.imageTag) tags_[*req.imageTag] = digest;
    api::PutImageResponse resp;
    resp.image = api::Image{};
    resp.image->imageId = api::ImageIdentifier{.imageDigest = digest, .imageTag = req.imageTag};
    return json_answer(200, api::to_json(resp));
  }
  if (op == "BatchGetImage") {
    auto req = api::from_json<api::BatchGetImageRequest>(request.body);
    api::BatchGetImageResponse resp;
    resp.images.emplace();
    resp.failures.emplace();
    for (const auto& id : req.imageIds) {
      std::string digest = id.imageDigest.value_or("");
      if (id.imageTag && tags_.contains(*id.imageTag)) digest = tags_[*id.imageTag];
      auto it = images_.find(digest);
      if (it == images_.end()) {
        resp.failures->push_back({.failureCode = "ImageNotFound",
                                  .failureReason = "Requested image not found",
                                  .imageId = id});
        continue;
      }
      api::Image image;
      image.imageId = api::ImageIdentifier{.imageDigest = digest, .imageTag = id.imageTag};
      image.imageManifest = it->second.manifest;
      image.imageManifestMediaType = it->second.media_type;
      image.repositoryName = req.repositoryName;
      resp.images->push_back(std::move(image));
    }
    return json_answer(200, api::to_json(resp));
  }
  if (op == "GetDownloadUrlForLayer") {
    auto req = api::from_json<api::GetDownloadUrlForLayerRequest>(request.body);
    if (!blobs_.contains(req.layerDigest)) {
      return error_answer("LayersNotFoundException", "no layer");
    }
    api::GetDownloadUrlForLayerResponse resp;
    resp.layerDigest = req.layerDigest;
    resp.downloadUrl = std::string(kEndpoint) + "/blobs/" + req.layerDigest +
                       "?sig=" + std::to_string(next_url_++);
    return json_answer(200, api::to_json(resp));
  }
  return error_answer("UnsupportedOperation", op);
}

http::Response FakeRegistry::handle_get(const http::Request& request, const http::BodySink& sink) {
  std::string content;
  std::int64_t begin = 0;
  std::int64_t end = 0;
  bool ranged = false;
  std::optional<std::int64_t> cut;
  {
    const std::lock_guard lock(mutex_);
    const std::string prefix = std::string(kEndpoint) + "/blobs/";
    const std::string rest = request.url.substr(prefix.size());
    const std::string digest = rest.substr(0, rest.find('?'));
    operations_.push_back("GET");
    auto it = blobs_.find(digest);
    if (it == blobs_.end()) return http::Response{404, {}, "not found"};
    if (expire_first_get.erase(digest) > 0) {
      return http::Response{403, {}, "<Error><Code>AccessDenied</Code>Request has expired</Error>"};
    }
    content = it->second;
    if (corrupt_always.contains(digest) || corrupt_first_get.erase(digest) > 0) {
      content[content.size() / 2] = static_cast<char>(content[content.size() / 2] ^ 0x01);
    }
    end = static_cast<std::int64_t>(content.size());
    if (auto range = http::find_header(request.headers, "Range")) {
      ranges_.emplace_back(*range);
      const std::string r(range->substr(6));
      begin = std::stoll(r.substr(0, r.find('-')));
      end = std::stoll(r.substr(r.find('-') + 1)) + 1;
      ranged = true;
    }
    cut = cut_get_after;
    cut_get_after.reset();
  }
  std::string_view body = std::string_view(content).substr(static_cast<std::size_t>(begin),
                                                           static_cast<std::size_t>(end - begin));
  if (cut && *cut < static_cast<std::int64_t>(body.size())) {
    sink(body.substr(0, static_cast<std::size_t>(*cut)));
    throw TransportError("connection reset mid-body (scripted)");
  }
  {
    const std::lock_guard lock(mutex_);
    if (ranged) gets_most_ = std::max(gets_most_, ++gets_now_);
  }
  struct Ended {
    FakeRegistry& registry;
    bool ranged;
    ~Ended() {
      const std::lock_guard lock(registry.mutex_);
      if (ranged) --registry.gets_now_;
    }
  } ended{*this, ranged};
  // Deliver in small chunks, as a network would.
  for (std::size_t off = 0; off < body.size(); off += 1000) {
    if (get_chunk_interval.count() > 0) std::this_thread::sleep_for(get_chunk_interval);
    if (!sink(body.substr(off, 1000))) throw TransportError("aborted by sink");
  }
  return http::Response{ranged ? 206 : 200, {}, ""};
}

std::vector<std::string> FakeRegistry::operations() const {
  const std::lock_guard lock(mutex_);
  return operations_;
}
int FakeRegistry::count(const std::string& operation) const {
  const std::lock_guard lock(mutex_);
  return static_cast<int>(std::count(operations_.begin(), operations_.end(), operation));
}
std::int64_t FakeRegistry::part_bytes_received() const {
  const std::lock_guard lock(mutex_);
  return part_bytes_;
}
int FakeRegistry::most_ranged_gets_at_once() const {
  const std::lock_guard lock(mutex_);
  return gets_most_;
}

std::vector<std::string> FakeRegistry::range_headers() const {
  const std::lock_guard lock(mutex_);
  return ranges_;
}
std::vector<std::string> FakeRegistry::put_image_digests() const {
  const std::lock_guard lock(mutex_);
  return put_digests_;
}
std::map<std::string, std::string> FakeRegistry::blobs() const {
  const std::lock_guard lock(mutex_);
  return blobs_;
}

std::unique_ptr<transfer::RegistrySession> open_fake_session(
    std::shared_ptr<FakeRegistry> registry,
    std::function<void(std::chrono::milliseconds)> on_backoff) {
  aws::RetryOptions retry;
  retry.sleep = [on_backoff = std::move(on_backoff)](std::chrono::milliseconds delay) {
    if (on_backoff) on_backoff(delay);
  };
  retry.random = [] { return 0.5; };
  return std::make_unique<transfer::RegistrySession>(
      std::move(registry),
      ResolvedConfig{Credentials{"AKIDEXAMPLE", "secret", ""}, "us-east-1", FakeRegistry::kEndpoint,
                     "default", ""},
      std::make_shared<aws::RetryPolicy>(std::move(retry)), std::nullopt, "team/app");
}

}  // namespace ecr::testing
