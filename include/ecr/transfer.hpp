// Transfers: every one is copy(source, sink), one walk over the ImageSource
// and ImageSink of two places (image.hpp): an OCI layout, an oci-archive, a
// docker-archive or an Amazon ECR repository, in any combination. Push is a
// local place into ECR, pull is ECR into a local place, and ECR to ECR or
// archive to layout are the same call.
//
// The walk: resolve the root manifest, choose the platform (an index may
// nest one level: an index of indexes of manifests; deeper is refused), plan
// the blobs (each digest once), ask the sink which it has, compress the
// uncompressed (docker save) layers a sink wants compressed, move the rest
// (`jobs` at a time where the sink takes concurrent writes), then write the
// manifests, children before the indexes that name them.
//
// ECR as a sink: BatchCheckLayerAvailability (batches of 100) -> for each
// missing blob InitiateLayerUpload -> UploadLayerPart in parts of the returned
// partSize, parts n+1 and n+2 read, encoded and hashed while part n is in
// flight, in three request buffers per job from a pool (memory: about
// jobs x 3 x a part's base64 request, whatever the image size) ->
// CompleteLayerUpload -> PutImage (children by digest, then the root under
// each tag). A layer compressed on the way is uploaded as it is compressed;
// its digest is finished during the upload and, with `cache_dir`, remembered
// in the digest index, so re-pushing an unchanged tarball reads and
// compresses nothing.
// ECR as a source: BatchGetImage by tag or digest; for a local sink, blobs
// not in the cache are fetched ahead (GetDownloadUrlForLayer, large blobs as
// parallel byte ranges), verified, kept in the cache and linked into the
// sink, so an image whose blobs are all cached costs one BatchGetImage
// (docs/cache.md); for a registry sink they stream through in ranges.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ecr/compression.hpp"
#include "ecr/config.hpp"
#include "ecr/digest.hpp"
#include "ecr/error.hpp"
#include "ecr/image.hpp"
#include "ecr/image_location.hpp"
#include "ecr/manifest.hpp"
#include "ecr/progress.hpp"
#include "ecr/reference.hpp"

namespace ecr {

// Default parallel blob transfers. Measured (docs/performance.md, --sweep,
// 770 MB to ecr-local on 2 cores): push takes 7.1 s with 1 job, 5.6 s with 2,
// 5.3 s with 4 and 5.6 s with 8, each job adding ~50 MB of client memory; pull
// does not depend on it. 4 is the fastest measured and leaves room for the
// round-trip latency a real region adds, which loopback does not show.
inline constexpr int kDefaultTransferJobs = 4;
// ECR's InitiateLayerUpload answers partSize 10485760 (service quotas: parts 5-10 MiB);
// this is the size used when a registry does not say.
inline constexpr std::int64_t kDefaultPartSize = 10 * 1024 * 1024;
// Every part but the last must be at least 5 MiB (LayerPartTooSmallException)
// and a layerPartBlob is at most 20971520 bytes (the service model).
inline constexpr std::int64_t kMinPartSize = 5 * 1024 * 1024;
inline constexpr std::int64_t kMaxPartSize = 20 * 1024 * 1024;
// How far from an image a referrer may be (a signature of an SBOM of the
// image is 2 away). cosign and notation chains are 2 or 3 deep; a chain
// longer than this is refused rather than followed without end.
inline constexpr int kMaxReferrerDepth = 8;

struct TransferOptions {
  // Blobs transferred at once; at least 1.
  int jobs = kDefaultTransferJobs;
  // Part size used when the registry's InitiateLayerUpload names none (ECR
  // always names one, and its value wins); kMinPartSize..kMaxPartSize.
  std::int64_t part_size = kDefaultPartSize;
  // How uncompressed (docker save) layers are compressed for a sink that
  // wants compressed layers (registries, OCI layouts and archives);
  // algorithm kNone keeps them as they are. Compressed layers are never
  // recompressed (that would change digests). The same layer compressed with
  // the same options gives the same blob, whatever the sink.
  CompressOptions compression{};
  // Pick this platform out of an index. Unset: keep the whole index (a sink
  // that holds single-platform images then refuses with PlatformError);
  // pull() picks the host's platform unless all_platforms.
  std::optional<Platform> platform;
  // pull(): keep the whole index instead of the host's platform.
  bool all_platforms = false;
  // Names for the root manifest: tags in a registry (besides the
  // destination's own), ref names in an OCI layout, RepoTags in a
  // docker-archive. Empty for a local destination without a ref of its own:
  // the names the source lists for the image.
  std::vector<std::string> tags;
  // A registry destination: CreateRepository first (an existing repository
  // is fine).
  bool create_repository = false;
  // Carry the image's OCI 1.1 referrers too (ImageSource::referrers): the
  // manifests whose subject is a manifest the transfer writes, and their
  // referrers in turn, up to kMaxReferrerDepth away from the image. Each is
  // copied byte for byte (its blobs are never compressed on the way), after
  // the image, by digest: untagged in a registry, unnamed in an OCI
  // layout's index.json. The walk refuses (InputError) a sink that cannot
  // hold referrers (a docker-archive) when there are any, and an image whose
  // layers would be compressed on the way (its digest would change, and its
  // referrers name the old one).
  bool referrers = false;
  // The local content-addressed cache (include/ecr/cache.hpp): a registry
  // source serves blobs from it and keeps what it downloads; compression on
  // the way keeps its digest index there. Unset: no cache (the CLIs set
  // default_cache_root() unless --no-cache).
  std::optional<std::filesystem::path> cache_dir;
  ProgressCallback progress;
  // Setting it stops the transfer: requests in flight are aborted within
  // about a second, a stalled peer included; retries and their backoff sleeps
  // end; no part, range or request starts; and the call throws Cancelled,
  // whatever the aborted request would otherwise have thrown. Not owned; may
  // be null.
  const std::atomic<bool>* cancel = nullptr;
  // Caps for decompressing outside data (compressed archives, layers a
  // docker-archive sink unpacks).
  DecompressionLimits limits{};

  // Throws InputError naming the field and why: jobs < 1, part_size outside
  // kMinPartSize..kMaxPartSize, both platform and all_platforms set, a
  // compression level the algorithm does not have.
  void validate() const;
};

// The platform asked for is not in the index, or the destination holds
// single-platform images and none was chosen (TransferOptions::platform).
class PlatformError : public InputError {
 public:
  PlatformError(const std::string& what, std::vector<std::string> offered)
      : InputError(what), offered_(std::move(offered)) {}
  // The platforms the index offers ("linux/amd64", ...; a child without one
  // by its digest).
  const std::vector<std::string>& offered() const noexcept { return offered_; }

 private:
  std::vector<std::string> offered_;
};

struct BlobResult {
  Digest digest;
  std::int64_t size = 0;
  BlobAction action = BlobAction::kUploaded;
};

struct TransferResult {
  Digest digest;                  // of the root manifest or index written
  std::string media_type;         // its media type
  std::vector<BlobResult> blobs;  // configs and layers, each digest once
  // Bytes uploaded to a registry destination, else downloaded from a
  // registry source (re-sends and refetches included); 0 between local places.
  std::int64_t bytes_moved = 0;
  std::int64_t bytes_skipped = 0;  // blobs the destination or the cache already had
  double seconds = 0;
  // The referrers written after the image (TransferOptions::referrers), as
  // ImageSource::referrers describes them, nearest first.
  std::vector<Descriptor> referrers{};
};
using PushResult = TransferResult;
using PullResult = TransferResult;

// Copies the image `from` names into `to` and commits it. `from`'s ref (or
// its tag or digest, for a registry) picks the image, "latest" for a
// registry reference with neither; the root is named `to`'s ref or tag plus
// options.tags (a local destination without either: the source's names).
// Registries are reached with `config` (an ECR URI's registry id and region
// override its region). Throws InputError (bad options, no such image, wrong
// content), PlatformError, IntegrityError (a blob that does not match its
// digest, a layer whose diff_id disagrees with the config, a registry that
// answers another digest), ServiceError subclasses named as in the model
// (RepositoryNotFoundException, ImageNotFoundException, ...), TransportError,
// Cancelled. A local destination holds nothing new unless the call returns.
TransferResult copy(const ImageLocation& from, const ImageLocation& to, const ClientConfig& config,
                    const TransferOptions& options = {});

// The same walk between places the caller opened (its own ImageSource and
// ImageSink implementations too). The root is named options.tags, or the
// names the source lists for it. The sink is not committed: the caller
// commits, possibly after several copies. Throws as above.
TransferResult copy(ImageSource& source, std::string_view ref, ImageSink& sink,
                    const TransferOptions& options = {});

// Pushes the image `ref` of `source` (see ImageSource::resolve) to `dest`,
// tagged with `dest`'s tag and options.tags. Throws as copy.
PushResult push(ImageSource& source, std::string_view ref, const ImageReference& dest,
                const ClientConfig& config, const TransferOptions& options = {});
// As above from a location string (`oci:DIR[:REF]`, `oci-archive:FILE[:REF]`,
// `docker-archive:FILE[:REF]` or a bare path; see image_location.hpp).
PushResult push(std::string_view source_location, const ImageReference& dest,
                const ClientConfig& config, const TransferOptions& options = {});

// Pulls `source` (by digest when it has one, else by tag, else "latest")
// into `sink`, names the root `names`, and commits the sink. Picks the
// host's platform from an index unless options.platform or
// options.all_platforms say otherwise, and compresses no layer (the image is
// written as the registry holds it; options.compression is not used). Throws as copy; a missing
// image is api::ImageNotFoundException.
PullResult pull(const ImageReference& source, ImageSink& sink,
                const std::vector<std::string>& names, const ClientConfig& config,
                const TransferOptions& options = {});
// As above into a location (`oci:DIR`, `oci-archive:FILE`, `docker-archive:FILE`
// with an optional `:REF` naming the image; default name: the source's tag).
PullResult pull(const ImageReference& source, std::string_view dest_location,
                const ClientConfig& config, const TransferOptions& options = {});

// Copies the image `source` names from one ECR repository to another, in the
// same registry or another. Blobs the destination lacks stream through this
// process (memory: jobs x (part size + one 8 MiB range)); manifests are put
// byte for byte, so the copy has the source's digest. Throws as copy.
PushResult copy(const ImageReference& source, const ImageReference& dest,
                const ClientConfig& config, const TransferOptions& options = {});

// An Amazon ECR repository as an ImageSource, for inspect_image and copy:
// resolve() is BatchGetImage (OCI and Docker manifest and index types
// accepted) by tag or digest, "" meaning `ref`'s digest, else its tag, else
// "latest"; blobs stream through GetDownloadUrlForLayer and ranged GETs and
// are verified against their digests. list() holds only the images resolved
// so far. `ref`'s registry id and region (from an ECR URI) override
// `config`'s region. `cancel` (not owned, may be null) makes reads throw
// Cancelled once it reads true, aborting requests in flight. Throws
// InputError when the configuration has no region or credentials; requests
// throw as copy does.
std::unique_ptr<ImageSource> open_registry_source(const ImageReference& ref,
                                                  const ClientConfig& config,
                                                  const std::atomic<bool>* cancel = nullptr);

// The platform a pull picks from an index when none is asked for.
Platform host_platform();

}  // namespace ecr
