// The push and pull engines over an open RegistrySession: what ecr::push and
// ecr::pull run once they have resolved configuration and opened places.
// Tests call these with a session over a fake registry and their own retry
// policy (no sleeping).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ecr/transfer.hpp"
#include "transfer/registry_session.hpp"

namespace ecr::transfer {

// BatchCheckLayerAvailability takes at most 100 layerDigests (the model's
// BatchedOperationLayerDigestList max).
inline constexpr std::size_t kBatchCheckLimit = 100;

// Pushes `ref` of `source`; the root goes under each of `tags` (by digest only
// when empty). `source_path` is the file or directory the source reads (an
// archive, a layout): with options.cache_dir it keys the digest index, so a
// re-push of an unchanged docker-archive compresses nothing. Each upload holds
// kPartBuffersPerUpload part buffers (layer_upload.hpp), so a push holds at
// most jobs x that many parts in memory.
PushResult push_image(RegistrySession& session, ImageSource& source, std::string_view ref,
                      const std::vector<std::string>& tags, const TransferOptions& options,
                      const std::optional<std::filesystem::path>& source_path = std::nullopt);

// How a pull splits large blobs. Blobs of at least `range_threshold` bytes
// are fetched as parallel ranges of `range_chunk` bytes.
struct DownloadTuning {
  // 8 MiB ranges are what aws-c-s3 uses by default for ranged GETs
  // (g_default_part_size_fallback) and what S3's performance guidelines
  // recommend (8-16 MB). Measured against ecr-local (docs/performance.md,
  // "Range tuning"): on loopback, where one connection is not bandwidth-capped
  // as an S3 connection is, no split and 4/8/16/32 MiB ranges all pull the
  // 770 MB image in 2.9-3.4 s, within run-to-run noise; the defaults are
  // kept for the per-connection limits of real downloads, which loopback
  // cannot show.
  std::int64_t range_chunk = 8 * 1024 * 1024;
  // Splitting pays off once there are at least two ranges.
  std::int64_t range_threshold = 16 * 1024 * 1024;
};

// GETs one blob tolerates (resets resumed with Range, expired URLs refreshed)
// before giving up.
inline constexpr int kMaxDownloadAttempts = 5;
// A blob whose bytes do not match its digest is fetched again this many times.
inline constexpr int kMaxIntegrityRefetches = 1;

// The platform pulled from an index when none is asked for.
Platform host_platform();

PullResult pull_image(RegistrySession& session, const ImageReference& source, ImageSink& sink,
                      const std::vector<std::string>& names, const TransferOptions& options,
                      const DownloadTuning& tuning = {});

}  // namespace ecr::transfer
