// An Amazon ECR repository as an ImageSource, so every transfer reads from a
// registry the way it reads from a file:
//   resolve         BatchGetImage by tag or digest, with the four accepted
//                   manifest media types
//   fetch_manifest  BatchGetImage by digest (an index's children), served by
//                   the blob cache when it holds the manifest
//   referrers       ListImageReferrers, page by page
//   fetch_ahead     for a local sink: every blob the sink lacks that the cache
//                   does not hold is downloaded in parallel ranges, verified,
//                   before the sink writes any: straight into the sink where
//                   it offers a BlobSlot (an oci-archive written in place),
//                   else into the BlobLanding (blob_landing.hpp)
//   send_blob       a fetched-ahead blob goes to the sink as a file (a sink
//                   that places files) or read through, unless it was
//                   downloaded into the sink; a cached blob that turns out
//                   damaged is dropped and fetched again
//   open_raw        otherwise (a registry sink): GetDownloadUrlForLayer, then
//                   GETs of the blob in consecutive ranges of
//                   kSourceRangeBytes, so memory stays at one range per open
//                   blob whatever its size
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ecr/image.hpp"
#include "transfer/blob_landing.hpp"
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
// accepted_manifest_media_types(). Throws api::ImageNotFoundException when the
// registry reports the image missing, a ServiceError named after any other
// failure code (ImageTagDoesNotMatchDigest, ...) or the API error
// (RepositoryNotFoundException, ...); IntegrityError when asked by digest and
// answered a manifest with another.
ParsedManifest batch_get_manifest(RegistrySession& session, const api::ImageIdentifier& id);

// How an EcrImageSource reads.
struct EcrSourceOptions {
  // The blob cache (TransferOptions::cache_dir): manifests by digest and
  // fetched-ahead blobs are served from it and kept there.
  std::optional<std::filesystem::path> cache_dir;
  // Not owned, may be null: reads throw Cancelled once it reads true.
  const std::atomic<bool>* cancel = nullptr;
  DownloadTuning tuning{};
};

class EcrImageSource final : public ImageSource {
 public:
  // Reads from `session`'s repository. `default_ref` is what resolve("")
  // means: the reference's digest, else its tag, else "latest".
  EcrImageSource(std::shared_ptr<RegistrySession> session, std::string default_ref,
                 EcrSourceOptions options = {});

  // The images resolved so far, under the tag they were asked by. A
  // repository is not enumerated (that is ListImages/DescribeImages).
  std::vector<ImageEntry> list() override;
  // `ref`: empty (the default reference), a digest "sha256:..." or a tag.
  // Throws as batch_get_manifest.
  ParsedManifest resolve(std::string_view ref) override;
  ParsedManifest fetch_manifest(const Descriptor& descriptor) override;
  // ListImageReferrers of `subject`, every page (ACTIVE referrers, ECR's
  // default), sorted by digest. A subject the repository does not hold has
  // none. InputError for more than kMaxIndexEntries referrers, or a page
  // that names itself as the next.
  std::vector<Descriptor> referrers(const Digest& subject) override;
  void fetch_ahead(const std::vector<Descriptor>& blobs, ImageSink& sink,
                   TransferContext& context) override;
  BlobAction send_blob(const Descriptor& descriptor, ImageSink& sink,
                       TransferContext& context) override;

 protected:
  std::unique_ptr<ByteStream> open_raw(const Descriptor& descriptor) override;

 private:
  // A blob fetch_ahead took care of.
  struct Landed {
    BlobAction action;   // kDownloaded or kCached
    Download* download;  // this transfer's download; null for a cached blob
  };
  BlobLanding& landing();
  void keep_manifest(const ParsedManifest& m);
  // Writes the landed `d` into `sink`; returns how it finally got there.
  BlobAction deliver(const Descriptor& d, Landed landed, ImageSink& sink, TransferContext& context);

  std::shared_ptr<RegistrySession> session_;
  std::string default_ref_;
  EcrSourceOptions options_;
  std::vector<ImageEntry> resolved_;
  std::optional<BlobLanding> landing_;
  std::vector<std::unique_ptr<Download>> downloads_;
  std::map<Digest, Landed> landed_;
  bool sink_places_files_ = false;
};

}  // namespace ecr::transfer
