// Push and pull: images between a local place (OCI layout, oci-archive,
// docker-archive, or any ImageSource/ImageSink) and an Amazon ECR repository,
// through ECR's layer APIs.
//
// Push: BatchCheckLayerAvailability (batches of 100) -> for each missing blob
// InitiateLayerUpload -> UploadLayerPart in parts of the returned partSize ->
// CompleteLayerUpload -> PutImage (an index's children by digest first, then
// the root under each tag). Blobs are uploaded in parallel (`jobs`); within
// a blob, part n+1 is read, hashed and encoded while part n is in flight, in
// two buffers per job taken from a pool, so memory is about jobs x 2 x (part
// size + its base64 request) whatever the image size. Uncompressed (docker
// save) layers are compressed in the same pass, their digests finished during
// the upload; with `cache_dir`, a digest index remembers them, so re-pushing
// an unchanged tarball reads and compresses nothing.
// Pull: BatchGetImage -> platform selection -> for each blob not in the cache
// GetDownloadUrlForLayer -> GET (large blobs as parallel byte ranges) ->
// digest and size verified -> cache -> sink. With a cache, an image whose
// blobs are all cached costs one BatchGetImage (docs/cache.md).
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
#include "ecr/manifest.hpp"
#include "ecr/reference.hpp"

namespace ecr {

namespace http {
class Transport;
}  // namespace http

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

// What happened to one blob.
enum class BlobAction {
  kUploaded,    // push: sent through the layer upload APIs
  kExists,      // push: the registry had it; pull: the destination had it
  kDownloaded,  // pull: fetched from the registry
  kCached,      // pull: served by the local cache (TransferOptions::cache_dir), not downloaded
};
std::string_view blob_action_name(BlobAction action) noexcept;  // "uploaded", ...

enum class BlobState { kChecking, kExists, kUploading, kDownloading, kCached, kDone };
std::string_view blob_state_name(BlobState state) noexcept;  // "checking", ...

// A layer compressed on the way (a docker-save layer pushed) is reported
// under its uncompressed digest, with the uncompressed bytes read so far out
// of its uncompressed size (the compressed size is not known until the end);
// its kDone event names the compressed blob the registry now holds.
struct ProgressEvent {
  Digest digest;
  BlobState state;
  std::int64_t bytes_done = 0;
  std::int64_t bytes_total = 0;
  // kDone of a layer compressed on the way: the blob pushed for it.
  std::optional<Descriptor> stored_as = std::nullopt;
};
// Called from worker threads, one call at a time (the engine serializes
// calls). Must not throw.
using ProgressCallback = std::function<void(const ProgressEvent&)>;

struct TransferOptions {
  // Blobs transferred at once; at least 1.
  int jobs = kDefaultTransferJobs;
  // Part size used when the registry's InitiateLayerUpload names none (ECR
  // always names one, and its value wins); kMinPartSize..kMaxPartSize.
  std::int64_t part_size = kDefaultPartSize;
  // Push: how uncompressed (docker save) layers are compressed on the way.
  Compression compression = Compression::kGzip;
  // Pick this platform out of an index. Unset: push keeps the whole index;
  // pull picks the host's platform unless all_platforms.
  std::optional<Platform> platform;
  // Pull: keep the whole index (the destination must hold indexes).
  bool all_platforms = false;
  // Push: tags for the root manifest besides the destination's own tag.
  std::vector<std::string> tags;
  // Push: CreateRepository first (an existing repository is fine).
  bool create_repository = false;
  // The local content-addressed cache (include/ecr/cache.hpp): pull serves
  // blobs from it and keeps what it downloads; push keeps its digest index of
  // source files there. Unset: no cache (the CLIs set default_cache_root()
  // unless --no-cache).
  std::optional<std::filesystem::path> cache_dir;
  ProgressCallback progress;
  // Setting it stops the transfer: requests in flight on the libcurl
  // transport a call makes itself (`transport` null) are aborted within about
  // a second, a stalled peer included; retries and their backoff sleeps end;
  // no part, range or request starts; and the call throws Cancelled, whatever
  // the aborted request would otherwise have thrown. A transport passed in is
  // used as it is (copy() and open_registry_source() included). Not owned;
  // may be null.
  const std::atomic<bool>* cancel = nullptr;

  // Throws InputError naming the field and why: jobs < 1, part_size outside
  // kMinPartSize..kMaxPartSize, both platform and all_platforms set.
  void validate() const;
};

// A transfer stopped because TransferOptions::cancel was set. Nothing is
// committed to a local destination when this is thrown.
class Cancelled : public Error {
 public:
  Cancelled() : Error(ErrorKind::kInput, "transfer cancelled") {}
};

struct BlobResult {
  Digest digest;
  std::int64_t size = 0;
  BlobAction action = BlobAction::kUploaded;
};

struct TransferResult {
  Digest digest;            // of the root manifest or index written
  std::string media_type;   // its media type
  std::vector<BlobResult> blobs;  // configs and layers, each digest once
  std::int64_t bytes_moved = 0;    // uploaded (push) or downloaded (pull)
  std::int64_t bytes_skipped = 0;  // blobs the other side already had
  double seconds = 0;
};
using PushResult = TransferResult;
using PullResult = TransferResult;

// Pushes the image `ref` of `source` (see ImageSource::resolve) to `dest`.
// `dest`'s registry id and region (from an ECR URI) override `config`'s
// region. `transport` null means libcurl. No digest index is used (the
// source's file is unknown here; the location overload uses one). Throws
// InputError (bad options, no such image, platform not in the index),
// IntegrityError (a source blob that does not match its digest, a layer that
// is not its config's diff_id; CompleteLayerUpload or PutImage answering
// another digest), ServiceError subclasses named as in the model
// (RepositoryNotFoundException, ...), TransportError, Cancelled.
PushResult push(ImageSource& source, std::string_view ref, const ImageReference& dest,
                const ClientConfig& config, const TransferOptions& options,
                std::shared_ptr<http::Transport> transport = nullptr);
// As above from a location string (`oci:DIR[:REF]`, `oci-archive:FILE[:REF]`,
// `docker-archive:FILE[:REF]` or a bare path; see image_location.hpp).
PushResult push(std::string_view source_location, const ImageReference& dest,
                const ClientConfig& config, const TransferOptions& options,
                std::shared_ptr<http::Transport> transport = nullptr);

// Pulls `source` (by digest when it has one, else by tag, else "latest")
// into `sink`, names the root `names`, and commits the sink. Throws as push,
// plus ServiceError named after BatchGetImage's failure code (e.g.
// "ImageNotFound") when the registry reports the image as a failure, and
// IntegrityError naming the digest when a blob still does not match after
// one refetch.
PullResult pull(const ImageReference& source, ImageSink& sink, const std::vector<std::string>& names,
                const ClientConfig& config, const TransferOptions& options,
                std::shared_ptr<http::Transport> transport = nullptr);
// As above into a location (`oci:DIR`, `oci-archive:FILE`, `docker-archive:FILE`
// with an optional `:REF` naming the image; default name: the source's tag).
PullResult pull(const ImageReference& source, std::string_view dest_location,
                const ClientConfig& config, const TransferOptions& options,
                std::shared_ptr<http::Transport> transport = nullptr);

// An Amazon ECR repository as an ImageSource, for copy_image, inspect_image
// and push: resolve() is BatchGetImage (OCI and Docker manifest and index
// types accepted) by tag or digest, "" meaning `ref`'s digest, else its tag,
// else "latest"; blobs stream through GetDownloadUrlForLayer and ranged GETs
// and are verified against their digests. list() holds only the images
// resolved so far. `ref`'s registry id and region (from an ECR URI) override
// `config`'s region. `cancel` (not owned, may be null) makes reads throw
// Cancelled once it reads true, aborting requests in flight on the
// transport made here (`transport` null). Throws InputError when the configuration has
// no region or credentials; requests throw as pull does.
std::unique_ptr<ImageSource> open_registry_source(
    const ImageReference& ref, const ClientConfig& config,
    const std::atomic<bool>* cancel = nullptr,
    std::shared_ptr<http::Transport> transport = nullptr);

// Copies the image `source` names (digest, else tag, else "latest") from one
// ECR repository to another, in the same registry or another: the push engine
// with the source repository as its ImageSource. Blobs the destination lacks
// stream through this process (memory: jobs x (part size + one 8 MiB range));
// manifests are put byte for byte, so the copy has the source's digest.
// Throws as push and pull.
PushResult copy(const ImageReference& source, const ImageReference& dest,
                const ClientConfig& config, const TransferOptions& options,
                std::shared_ptr<http::Transport> transport = nullptr);

}  // namespace ecr
