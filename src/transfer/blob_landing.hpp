// Where a registry source lands the blobs it fetches ahead for a local sink
// (ImageSource::fetch_ahead): the sink itself where it offers a BlobSlot (an
// oci-archive written in place), else the blob cache, or a private staging
// directory when there is none. Downloads land in files because a local sink
// is written one blob at a time while downloads run in parallel.
//
// Into a BlobSlot, each range is written at its place in the sink, which
// hashes the blob as it lands and verifies it at the end; the bytes are
// written once, and not kept in the cache (a cold pull into an archive
// writes each byte once; docs/cache.md). With a cache
// (TransferOptions::cache_dir) each blob is written through a ranged
// BlobWriter, verified and committed into blobs/sha256, and the sink takes
// it from there; a blob already cached is not downloaded at all. Without a
// cache the files are in a staging directory that goes with the landing.
// Every blob is verified before the sink counts it as written.
//
// Ranges are handed out by a RangeQueue: a worker gets the next range of the
// first blob that has no range in flight, so each blob's bytes arrive in
// order and are hashed as they are written (InOrderHasher), and no two
// workers write one file (contending for its inode lock). Only when every
// blob left has a range in flight (fewer blobs than workers, e.g. one large
// layer) does a blob get a second one, out of order: the one with the most
// ranges left, and only while its ranges mostly wait for the link
// (DownloadTuning::extra_range_busy_limit); a worker otherwise waits for a
// range to end. The bytes of a range ahead are read back from the page cache
// and hashed as soon as the earlier range lands.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <vector>

#include "core/file.hpp"
#include "core/in_order_hasher.hpp"
#include "ecr/cache.hpp"
#include "ecr/image.hpp"
#include "oci/file_io.hpp"
#include "transfer/blob_download.hpp"
#include "transfer/registry_session.hpp"

namespace ecr::transfer {

// How a registry source splits large blobs. Blobs of at least
// `range_threshold` bytes are fetched as parallel ranges of `range_chunk`
// bytes.
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
  // A blob that has a range in flight gets a further one, ahead of it and
  // out of order, only while its ranges spend less than this share of their
  // time storing what they receive (BlobFetch::busy_share): over a link
  // slower than this machine's work on the bytes, more connections bring the
  // blob in sooner. Where the link outruns that work (loopback, a registry
  // next door), the bytes of a range ahead wait for the hash of the ones
  // before and are read back for it: one big layer pulled into an oci-archive
  // from ecr-local takes 1.31 CPU-s over one connection against 1.47 over
  // four, for 1.45 s against 1.32 s of wall time (docs/performance.md,
  // 2026-12-05 03:50). At 1 or more a second range is always taken; at 0
  // never.
  double extra_range_busy_limit = 0.5;
};

// GETs in a row that deliver no byte (resets resumed with Range, expired URLs
// refreshed) one range tolerates before giving up; GETs that made progress
// do not count.
inline constexpr int kMaxDownloadAttempts = 5;
// A blob whose bytes do not match its digest is fetched again this many times.
inline constexpr int kMaxIntegrityRefetches = 1;

// One blob being downloaded: into the sink (`slot`), a staging file (`fd`,
// hashed by `hasher`) or the cache (`writer`); each replaced by a fresh one
// for a refetch.
struct Download {
  explicit Download(Descriptor d) : descriptor(std::move(d)) {}
  bool in_sink() const noexcept { return slot != nullptr; }
  Descriptor descriptor;
  ImageSink* sink = nullptr;  // where `slot` came from
  std::unique_ptr<BlobSlot> slot;
  std::shared_ptr<UniqueFd> fd;
  std::filesystem::path staged;
  std::unique_ptr<InOrderHasher> hasher;
  std::optional<BlobWriter> writer;
  std::unique_ptr<BlobFetch> fetch;
};

class BlobLanding {
 public:
  // A cache at `cache_dir`, else a staging directory under the temp directory.
  explicit BlobLanding(const std::optional<std::filesystem::path>& cache_dir);

  BlobCache* cache() { return cache_ ? &*cache_ : nullptr; }

  // A download of `d` for `sink`, ready for download_all: into the sink's
  // BlobSlot for it when it has one, else landed here.
  std::unique_ptr<Download> start(RegistrySession& session, const Descriptor& d, ImageSink& sink,
                                  TransferContext& context);
  // Downloads `blobs` on `context.jobs()` workers (large ones as ranges) and
  // verifies (and, with a cache, commits) each, fetching a blob whose bytes
  // do not match again whole, at most kMaxIntegrityRefetches times. Returns
  // the bytes received. Throws IntegrityError naming the digest when a blob
  // still does not match, and what the downloads throw.
  std::int64_t download_all(std::vector<std::unique_ptr<Download>>& blobs, TransferContext& context,
                            const DownloadTuning& tuning);

  // The file holding a blob downloaded here, or a cached one (nullopt when
  // the cache no longer has it).
  std::optional<std::filesystem::path> file(const Descriptor& d);
  // The bytes of a blob downloaded here (`blob`), or of a cached one (`blob`
  // null); nullptr when the cache no longer has it, or it went into the sink.
  std::unique_ptr<ByteStream> open(const Descriptor& d, const Download* blob);

 private:
  void finish(Download& blob, TransferContext& context);

  std::optional<BlobCache> cache_;
  std::optional<oci::StagingDir> staging_;  // without a cache, once a blob lands here
};

// True when the cached blob `d` is there and hashes to its digest.
bool cached_blob_intact(BlobCache& cache, const Descriptor& d);

// Drops from the cache the blobs of `blobs` that are cached but do not hash
// to their digest (they are then downloaded), hashing on `jobs` threads.
void drop_damaged_cached_blobs(BlobCache& cache, const std::vector<Descriptor>& blobs, int jobs);

}  // namespace ecr::transfer
