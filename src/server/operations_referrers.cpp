// Handler: ListImageReferrers, the ECR API's door onto OCI 1.1 referrers
// (the registry API's is GET /v2/<name>/referrers/<digest>; both read the
// subjects PutImage recorded, Registry::referrers).
#include "ecr/digest.hpp"
#include "ecr/manifest.hpp"
#include "server/operations_internal.hpp"

namespace ecr::server::ops {
namespace {

// "If this parameter is not used, then ListImageReferrers returns up to 50
// results" (ECR API reference, maxResults); the model's FiftyMaxResults caps
// an explicit value at the same 50.
constexpr std::int64_t kDefaultReferrersPage = 50;

// A referrer's artifactStatus is its image's status (ACTIVE, ARCHIVED,
// ACTIVATING); without a filter only ACTIVE ones are listed, ANY lists all.
bool status_matches(const std::optional<api::ListImageReferrersFilter>& filter,
                    const std::string& status) {
  if (!filter || !filter->artifactStatus) return status == "ACTIVE";
  return *filter->artifactStatus == status || *filter->artifactStatus == "ANY";
}

bool type_matches(const std::optional<api::ListImageReferrersFilter>& filter,
                  const std::optional<std::string>& artifact_type) {
  if (!filter || !filter->artifactTypes || filter->artifactTypes->empty()) return true;
  if (!artifact_type) return false;
  for (const auto& wanted : *filter->artifactTypes) {
    if (wanted == *artifact_type) return true;
  }
  return false;
}

// A referrer as the OCI distribution spec describes it in a referrers
// index: the manifest's artifactType, else its config's media type; the
// manifest's annotations.
api::ImageReferrer to_referrer(const ImageInfo& image) {
  const ParsedManifest m = parse_manifest(image.manifest, image.media_type);
  api::ImageReferrer r;
  r.digest = image.digest;
  r.mediaType = image.media_type;
  r.size = static_cast<std::int64_t>(image.manifest.size());
  if (!m.artifact_type.empty()) {
    r.artifactType = m.artifact_type;
  } else if (m.config) {
    r.artifactType = m.config->media_type;
  }
  if (!m.annotations.empty()) r.annotations = m.annotations;
  r.artifactStatus = image.status;
  return r;
}

}  // namespace

std::string list_image_referrers(Env& env, simdjson::dom::element body) {
  return run<api::ListImageReferrersRequest>(body, [&](const api::ListImageReferrersRequest& r) {
    check_registry(env, r.registryId);
    if (!Digest::valid(r.subjectId.imageDigest)) {
      throw api::InvalidParameterException(
          "Invalid parameter at 'subjectId.imageDigest' failed to satisfy constraint: 'image "
          "digest should satisfy the regex sha256:[a-f0-9]{64}'");
    }
    // The token is decoded before the repository is looked at, so a bad one
    // is refused whatever the repository holds.
    const std::size_t offset = r.nextToken ? decode_page_token(*r.nextToken) : 0;
    const auto limit = static_cast<std::size_t>(r.maxResults.value_or(kDefaultReferrersPage));
    std::vector<api::ImageReferrer> matching;
    const std::vector<ImageInfo> referrers =
        env.registry.referrers(r.repositoryName, r.subjectId.imageDigest);
    for (const ImageInfo& image : referrers) {
      if (!status_matches(r.filter, image.status)) continue;
      api::ImageReferrer referrer = to_referrer(image);
      if (type_matches(r.filter, referrer.artifactType)) matching.push_back(std::move(referrer));
    }
    api::ListImageReferrersResponse out;
    out.referrers.emplace();
    for (std::size_t i = offset; i < matching.size() && out.referrers->size() < limit; ++i) {
      out.referrers->push_back(std::move(matching[i]));
    }
    if (offset + out.referrers->size() < matching.size()) {
      out.nextToken = encode_page_token(offset + out.referrers->size());
    }
    return out;
  });
}

}  // namespace ecr::server::ops
