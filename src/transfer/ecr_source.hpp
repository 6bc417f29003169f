// An Amazon ECR repository as an ImageSource, so anything that copies from a
// source (the push engine, copy_image, inspect_image) reads from a registry
// the same way it reads from a file:
//   resolve    BatchGetImage by tag or digest, with the four accepted
//              manifest media types
//   fetch_manifest  BatchGetImage by digest (an index's children)
//   open_raw   GetDownloadUrlForLayer, then GETs of the blob in consecutive
//              byte ranges of kSourceRangeBytes (get_range, as the pull engine
//              fetches), so memory stays at one range per open blob whatever
//              the blob's size; BlobReader verifies size and digest as the
//              bytes stream through.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ecr/image.hpp"
#include "transfer/registry_session.hpp"

namespace ecr::transfer {

// Bytes fetched per GET when a registry blob is read as a stream. The same 8
// MiB as the pull engine's ranges (DownloadTuning::range_chunk), which is
// aws-c-s3's default part size for ranged GETs.
inline constexpr std::int64_t kSourceRangeBytes = 8 * 1024 * 1024;

// The manifest types asked for in BatchGetImage's acceptedMediaTypes: OCI index
// and manifest, Docker manifest list and schema 2 (ECR would convert to the
// first it can serve if the list were narrower).
const std::vector<std::string>& accepted_manifest_media_types();

// BatchGetImage of the one image `id` names in `session`'s repository (by its
// digest when it has one, else by its tag), asking for
// accepted_manifest_media_types(): how pull plans and this source read
// manifests. Throws ServiceError named after BatchGetImage's failure code
// (ImageNotFound, ...) or the API error (RepositoryNotFoundException, ...);
// IntegrityError when asked by digest and answered a manifest with another.
ParsedManifest batch_get_manifest(RegistrySession& session, const api::ImageIdentifier& id);

class EcrImageSource final : public ImageSource {
 public:
  // Reads from `session`'s repository. `default_ref` is what resolve("")
  // means: the reference's digest, else its tag, else "latest". `cancel` (not
  // owned, may be null) is polled between ranges and body chunks; Cancelled
  // is thrown when it reads true.
  EcrImageSource(std::unique_ptr<RegistrySession> session, std::string default_ref,
                 const std::atomic<bool>* cancel = nullptr);

  // The images resolved so far, under the tag they were asked by. A
  // repository is not enumerated (that is ListImages/DescribeImages).
  std::vector<ImageEntry> list() override;
  // `ref`: empty (the default reference), a digest "sha256:..." or a tag.
  // Throws ServiceError named after BatchGetImage's failure code
  // (ImageNotFound, ...) or the API error (RepositoryNotFoundException, ...);
  // IntegrityError when the manifest answered has another digest.
  ParsedManifest resolve(std::string_view ref) override;
  ParsedManifest fetch_manifest(const Descriptor& descriptor) override;

 protected:
  std::unique_ptr<ByteStream> open_raw(const Descriptor& descriptor) override;

 private:
  std::unique_ptr<RegistrySession> session_;
  std::string default_ref_;
  const std::atomic<bool>* cancel_;
  std::vector<ImageEntry> resolved_;
};

}  // namespace ecr::transfer
