// Handlers: layer uploads, availability checks and download URLs.
#include "api/serde_support.hpp"
#include "ecr/digest.hpp"
#include "ecr/error.hpp"
#include "server/operations_internal.hpp"

namespace ecr::server::ops {
namespace {

// What ECR's InitiateLayerUpload answers (ECR's service quotas: layer parts 5-10 MiB).
constexpr std::int64_t kPartSize = 10'485'760;

}  // namespace

std::string initiate_layer_upload(Env& env, simdjson::dom::element body) {
  return run<api::InitiateLayerUploadRequest>(body, [&](const api::InitiateLayerUploadRequest& r) {
    check_registry(env, r.registryId);
    api::InitiateLayerUploadResponse out;
    env.registry.repository_for_push(r.repositoryName);  // create-on-push
    out.uploadId = env.registry.initiate_upload(r.repositoryName);
    out.partSize = kPartSize;
    return out;
  });
}

std::string upload_layer_part(Env& env, simdjson::dom::element body) {
  using Req = api::UploadLayerPartRequest;
  api::validate_json(Req::kShapeName, body);
  auto store = [&env](const Req& r, std::string_view part) {
    check_registry(env, r.registryId);
    api::UploadLayerPartResponse out;
    // The digest the intake fed the part and the bytes it wrote ahead count
    // only for the upload and first byte they were taken for, which the
    // parse must confirm; otherwise the bytes go (and the upload is let go)
    // before the part is stored.
    std::optional<Sha256Lane> fed_hash;
    IncomingPart* incoming = nullptr;
    if (env.taken_in && env.taken_in->upload_id == r.uploadId &&
        env.taken_in->first_byte == r.partFirstByte) {
      fed_hash = std::move(env.taken_in->layer_hash);
      // The registry's own (RegistryServer::screen's source made it).
      incoming = dynamic_cast<IncomingPart*>(env.taken_in->incoming.get());
    } else if (env.taken_in) {
      env.taken_in->incoming.reset();
    }
    out.lastByteReceived =
        env.registry.upload_part(r.repositoryName, r.uploadId, r.partFirstByte, r.partLastByte,
                                 part, std::move(fed_hash), incoming);
    out.registryId = env.account();
    out.repositoryName = r.repositoryName;
    out.uploadId = r.uploadId;
    return api::to_json(out);
  };
  api::serde::MemberPath path;
  if (env.decoded_part) {
    // Decoded where it lay in the body (Operations::invoke); the body's
    // layerPartBlob is empty and reads as no bytes.
    Req r;
    api::read(body, r, path);
    return store(r, *env.decoded_part);
  }
  // The part is decoded into the pooled buffer (serde's read_blob reuses a
  // string's storage), so a 20 MiB part gets no fresh, zeroed memory per
  // request. validate_json has made sure layerPartBlob is there, so nothing
  // stale from the buffer's last part can stand in for it.
  std::string own_buffer;
  std::string& buffer = env.part_buffer ? *env.part_buffer : own_buffer;
  Req r;
  r.layerPartBlob = std::move(buffer);
  // The storage goes back to the pool however the request ends.
  struct GiveBack {
    std::string& pool;
    std::string& taken;
    ~GiveBack() { pool = std::move(taken); }
  } give_back{buffer, r.layerPartBlob};
  api::read(body, r, path);
  return store(r, r.layerPartBlob);
}

std::string complete_layer_upload(Env& env, simdjson::dom::element body) {
  return run<api::CompleteLayerUploadRequest>(body, [&](const api::CompleteLayerUploadRequest& r) {
    check_registry(env, r.registryId);
    api::CompleteLayerUploadResponse out;
    out.layerDigest = env.registry.complete_upload(r.repositoryName, r.uploadId, r.layerDigests);
    out.registryId = env.account();
    out.repositoryName = r.repositoryName;
    out.uploadId = r.uploadId;
    return out;
  });
}

namespace {

// A read-only check creates no repository: for a repository a push would
// create from a template, every layer is UNAVAILABLE, so the push goes on
// to InitiateLayerUpload, which creates it.
std::vector<LayerAvailability> checked_layers(Env& env, const std::string& repository,
                                              const std::vector<std::string>& digests,
                                              std::vector<LayerFailure>& failures) {
  try {
    return env.registry.check_layers(repository, digests, failures);
  } catch (const api::RepositoryNotFoundException&) {
    if (!env.registry.creates_on_push(repository)) {
      // No template would create it, or a concurrent first push just did:
      // check again as it is now (RepositoryNotFoundException when absent).
      failures.clear();
      return env.registry.check_layers(repository, digests, failures);
    }
  }
  std::vector<LayerAvailability> out;
  for (const auto& digest : digests) {
    if (digest.empty()) {
      failures.push_back({digest, "MissingLayerDigest", "The layer digest is missing"});
    } else if (!Digest::valid(digest)) {
      failures.push_back({digest, "InvalidLayerDigest", "Invalid layer digest"});
    } else {
      out.push_back({digest, false, std::nullopt, std::nullopt});
    }
  }
  return out;
}

}  // namespace

std::string batch_check_layer_availability(Env& env, simdjson::dom::element body) {
  using Req = api::BatchCheckLayerAvailabilityRequest;
  return run<Req>(body, [&](const Req& r) {
    check_registry(env, r.registryId);
    std::vector<LayerFailure> failures;
    api::BatchCheckLayerAvailabilityResponse out;
    out.layers.emplace();
    for (const auto& a : checked_layers(env, r.repositoryName, r.layerDigests, failures)) {
      api::Layer layer;
      layer.layerDigest = a.digest;
      layer.layerAvailability = a.available ? "AVAILABLE" : a.archived ? "ARCHIVED" : "UNAVAILABLE";
      layer.layerSize = a.size;
      layer.mediaType = a.media_type;
      out.layers->push_back(std::move(layer));
    }
    out.failures.emplace();
    for (const auto& f : failures)
      out.failures->push_back(api::LayerFailure{f.code, f.reason, f.digest});
    return out;
  });
}

std::string get_download_url_for_layer(Env& env, simdjson::dom::element body) {
  using Req = api::GetDownloadUrlForLayerRequest;
  return run<Req>(body, [&](const Req& r) {
    check_registry(env, r.registryId);
    if (!Digest::valid(r.layerDigest)) {
      throw api::InvalidParameterException(
          "Invalid parameter at 'layerDigest' failed to satisfy constraint: 'Invalid digest: " +
          r.layerDigest + "'");
    }
    env.registry.downloadable_layer(r.repositoryName, r.layerDigest);
    api::GetDownloadUrlForLayerResponse out;
    out.layerDigest = r.layerDigest;
    out.downloadUrl =
        env.signer.make_url(env.request.base_url, r.repositoryName, r.layerDigest,
                            std::chrono::system_clock::now() + env.download_url_lifetime);
    return out;
  });
}

}  // namespace ecr::server::ops
