// Handlers: PutImage, BatchGetImage, BatchDeleteImage, ListImages, DescribeImages.
#include <algorithm>

#include "ecr/manifest.hpp"
#include "server/operations_internal.hpp"

namespace ecr::server::ops {
namespace {

std::vector<ImageRef> refs_of(const std::vector<api::ImageIdentifier>& ids) {
  std::vector<ImageRef> out;
  for (const auto& id : ids) out.push_back(from_api(id));
  return out;
}

std::vector<api::ImageFailure> to_api(const std::vector<ImageFailure>& failures) {
  std::vector<api::ImageFailure> out;
  for (const auto& f : failures)
    out.push_back(api::ImageFailure{f.code, f.reason, ops::to_api(f.ref)});
  return out;
}

api::Image to_api_image(Env& env, const std::string& repository, const ImageInfo& info) {
  api::Image image;
  image.registryId = env.account();
  image.repositoryName = repository;
  image.imageId = api::ImageIdentifier{
      info.digest, info.tags.empty() ? std::nullopt : std::optional(info.tags.front())};
  image.imageManifest = info.manifest;
  image.imageManifestMediaType = info.media_type;
  return image;
}

}  // namespace

std::string put_image(Env& env, simdjson::dom::element body) {
  return run<api::PutImageRequest>(body, [&](const api::PutImageRequest& r) {
    check_registry(env, r.registryId);
    // Create-on-push; RepositoryNotFoundException before manifest errors.
    env.registry.repository_for_push(r.repositoryName);
    ManifestFacts facts;
    try {
      facts = facts_of(parse_manifest(r.imageManifest, r.imageManifestMediaType.value_or("")));
    } catch (const InputError& e) {
      throw api::InvalidParameterException(
          std::string("Invalid parameter at 'imageManifest' failed to satisfy constraint: '") +
          e.what() + "'");
    }
    ImageInfo info =
        env.registry.put_image(r.repositoryName, r.imageManifest, facts, r.imageTag, r.imageDigest);
    api::Image image = to_api_image(env, r.repositoryName, info);
    image.imageId->imageTag = r.imageTag;
    return api::PutImageResponse{image};
  });
}

std::string batch_get_image(Env& env, simdjson::dom::element body) {
  return run<api::BatchGetImageRequest>(body, [&](const api::BatchGetImageRequest& r) {
    check_registry(env, r.registryId);
    std::vector<ImageFailure> failures;
    std::vector<ImageRef> refs = refs_of(r.imageIds);
    std::vector<ImageInfo> found = env.registry.get_images(r.repositoryName, refs, failures);
    api::BatchGetImageResponse out;
    out.images.emplace();
    for (const auto& info : found) {
      if (r.acceptedMediaTypes &&
          std::find(r.acceptedMediaTypes->begin(), r.acceptedMediaTypes->end(), info.media_type) ==
              r.acceptedMediaTypes->end()) {
        ImageRef ref{info.digest,
                     info.tags.empty() ? std::nullopt : std::optional(info.tags.front())};
        failures.push_back({ref, "ImageNotFound",
                            "Requested image's media type '" + info.media_type +
                                "' is not among the accepted media types"});
        continue;
      }
      out.images->push_back(to_api_image(env, r.repositoryName, info));
    }
    out.failures = to_api(failures);
    return out;
  });
}

std::string batch_delete_image(Env& env, simdjson::dom::element body) {
  return run<api::BatchDeleteImageRequest>(body, [&](const api::BatchDeleteImageRequest& r) {
    check_registry(env, r.registryId);
    std::vector<ImageFailure> failures;
    api::BatchDeleteImageResponse out;
    out.imageIds.emplace();
    for (const auto& ref :
         env.registry.delete_images(r.repositoryName, refs_of(r.imageIds), failures)) {
      out.imageIds->push_back(ops::to_api(ref));
    }
    out.failures = to_api(failures);
    return out;
  });
}

std::string list_images(Env& env, simdjson::dom::element body) {
  return run<api::ListImagesRequest>(body, [&](const api::ListImagesRequest& r) {
    check_registry(env, r.registryId);
    std::optional<std::string> status = r.filter ? r.filter->tagStatus : std::nullopt;
    std::optional<std::string> image_status = r.filter ? r.filter->imageStatus : std::nullopt;
    std::optional<std::string> next;
    api::ListImagesResponse out;
    out.imageIds.emplace();
    for (const auto& ref : env.registry.list_images(
             r.repositoryName, status, {r.maxResults, r.nextToken}, next, image_status)) {
      out.imageIds->push_back(ops::to_api(ref));
    }
    out.nextToken = next;
    return out;
  });
}

std::string describe_images(Env& env, simdjson::dom::element body) {
  return run<api::DescribeImagesRequest>(body, [&](const api::DescribeImagesRequest& r) {
    check_registry(env, r.registryId);
    std::vector<ImageRef> refs = refs_of(r.imageIds.value_or(std::vector<api::ImageIdentifier>{}));
    if (!refs.empty() && (r.maxResults || r.nextToken)) {
      throw api::InvalidParameterException(
          "Invalid parameter: maxResults and nextToken cannot be used with imageIds");
    }
    std::optional<std::string> status = r.filter ? r.filter->tagStatus : std::nullopt;
    std::optional<std::string> image_status = r.filter ? r.filter->imageStatus : std::nullopt;
    std::optional<std::string> next;
    api::DescribeImagesResponse out;
    out.imageDetails.emplace();
    const auto images = env.registry.describe_images(
        r.repositoryName, refs, status, {r.maxResults, r.nextToken}, next, image_status);
    const auto scans = env.registry.image_scans(r.repositoryName);
    for (const auto& info : images) {
      api::ImageDetail d;
      d.registryId = env.account();
      d.repositoryName = r.repositoryName;
      d.imageDigest = info.digest;
      if (!info.tags.empty()) d.imageTags = info.tags;
      d.imageSizeInBytes = info.size;
      d.imagePushedAt = std::chrono::time_point_cast<std::chrono::seconds>(info.pushed_at);
      d.imageManifestMediaType = info.media_type;
      d.artifactMediaType = info.artifact_media_type;
      d.imageStatus = info.status;
      d.lastArchivedAt = info.archived_at;
      d.lastActivatedAt = info.activated_at;
      d.lastRecordedPullTime = info.pulled_at;
      // A scan StartImageScan recorded (ecr-local scans nothing: no findings).
      if (auto scan = scans.find(info.digest); scan != scans.end()) {
        d.imageScanStatus = api::ImageScanStatus{scan->second.description, scan->second.status};
      }
      out.imageDetails->push_back(std::move(d));
    }
    out.nextToken = next;
    return out;
  });
}

}  // namespace ecr::server::ops
