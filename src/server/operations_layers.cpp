// Handlers: layer uploads, availability checks and download URLs.
#include "api/serde_support.hpp"
#include "core/base64.hpp"
#include "ecr/error.hpp"
#include "server/operations_internal.hpp"

namespace ecr::server::ops {
namespace {

// What ECR's InitiateLayerUpload answers (reference/README.md).
constexpr std::int64_t kPartSize = 10'485'760;

// UploadLayerPartRequest as the generated read decodes it, except that the
// part is decoded into `buffer` (grown, never shrunk or cleared) and returned
// as a view into it: a 20 MiB part is not given fresh, zeroed memory per
// request. The errors are the generated read's.
std::string_view read_part_request(simdjson::dom::element e, api::UploadLayerPartRequest& out,
                                   std::string& buffer) {
  namespace serde = api::serde;
  serde::MemberPath path;
  std::string_view part;
  for (const auto field : serde::expect_object(e, path)) {
    if (field.key == "layerPartBlob") {
      if (field.value.is_null()) continue;
      const auto scope = path.member("layerPartBlob");
      std::string_view text;
      if (field.value.get_string().get(text) != simdjson::SUCCESS) {
        serde::throw_type_error("base64 string", path);
      }
      std::size_t room = base64::max_decoded_size(text.size());
      if (buffer.size() < room) buffer.resize(room);
      try {
        part = std::string_view(buffer.data(), base64::decode_to(text, buffer.data()));
      } catch (const InputError& error) {
        throw InputError("invalid base64 at '" + path.str() + "': " + error.what());
      }
    } else if (field.key == "partFirstByte") {
      serde::read_member(field.value, out.partFirstByte, path, "partFirstByte");
    } else if (field.key == "partLastByte") {
      serde::read_member(field.value, out.partLastByte, path, "partLastByte");
    } else if (field.key == "registryId") {
      serde::read_member(field.value, out.registryId, path, "registryId");
    } else if (field.key == "repositoryName") {
      serde::read_member(field.value, out.repositoryName, path, "repositoryName");
    } else if (field.key == "uploadId") {
      serde::read_member(field.value, out.uploadId, path, "uploadId");
    }
  }
  return part;
}

}  // namespace

std::string initiate_layer_upload(Env& env, simdjson::dom::element body) {
  return run<api::InitiateLayerUploadRequest>(body, [&](const api::InitiateLayerUploadRequest& r) {
    check_registry(env, r.registryId);
    api::InitiateLayerUploadResponse out;
    out.uploadId = env.registry.initiate_upload(r.repositoryName);
    out.partSize = kPartSize;
    return out;
  });
}

std::string upload_layer_part(Env& env, simdjson::dom::element body) {
  using Req = api::UploadLayerPartRequest;
  api::validate_json(Req::kShapeName, body);
  std::string own_buffer;
  Req r;
  std::string_view part =
      read_part_request(body, r, env.part_buffer ? *env.part_buffer : own_buffer);
  check_registry(env, r.registryId);
  api::UploadLayerPartResponse out;
  out.lastByteReceived =
      env.registry.upload_part(r.repositoryName, r.uploadId, r.partFirstByte, r.partLastByte, part);
  out.registryId = env.account();
  out.repositoryName = r.repositoryName;
  out.uploadId = r.uploadId;
  return api::to_json(out);
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

std::string batch_check_layer_availability(Env& env, simdjson::dom::element body) {
  using Req = api::BatchCheckLayerAvailabilityRequest;
  return run<Req>(body, [&](const Req& r) {
    check_registry(env, r.registryId);
    std::vector<LayerFailure> failures;
    api::BatchCheckLayerAvailabilityResponse out;
    out.layers.emplace();
    for (const auto& a : env.registry.check_layers(r.repositoryName, r.layerDigests, failures)) {
      api::Layer layer;
      layer.layerDigest = a.digest;
      layer.layerAvailability = a.available ? "AVAILABLE" : "UNAVAILABLE";
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
      throw ServiceError(
          "InvalidParameterException",
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
