// The pull engine: the plan (pull_plan.hpp), parallel (ranged) downloads,
// verification, then the sink.
//
// Downloads land in files first because sinks are written one blob at a time
// while downloads run in parallel. With a cache (TransferOptions::cache_dir)
// those files are the cache's own temp files: each blob is written through a
// ranged BlobWriter, verified and committed into blobs/sha256, and the sink
// reads it from there; a blob already cached is not downloaded at all
// (kCached). Without a cache they are files in a private staging directory
// that goes with the pull. Either way every blob is verified before the sink
// sees any, and the sink commits only at the end, so a failed or interrupted
// pull leaves nothing at the destination.
//
// Sinks that take files (OCI layouts and archives, SinkTraits::places_files)
// get each verified blob as a hard link to that file (or a kernel-side copy
// across filesystems), so a blob is written once, not twice. Such a sink does
// not read what it is given, so blobs that were already in the cache are
// hashed before they are offered (in parallel, up front); a damaged one is
// dropped and downloaded. Other sinks read every blob through a BlobReader,
// which verifies it on the way.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <span>

#include "cache/in_order_hasher.hpp"
#include "core/file.hpp"
#include "ecr/cache.hpp"
#include "ecr/errors.hpp"
#include "oci/file_io.hpp"
#include "transfer/blob_download.hpp"
#include "transfer/engine.hpp"
#include "transfer/parallel.hpp"
#include "transfer/pull_plan.hpp"

namespace ecr::transfer {
namespace {

// One blob being downloaded: into a staging file (`fd`, hashed by `hasher`)
// or into the cache (`writer`); both replaced by fresh ones for a refetch.
struct Download {
  explicit Download(Descriptor d) : descriptor(std::move(d)) {}
  Descriptor descriptor;
  std::shared_ptr<UniqueFd> fd;
  std::filesystem::path staged;
  std::unique_ptr<cache::InOrderHasher> hasher;
  std::optional<BlobWriter> writer;
  std::unique_ptr<BlobFetch> fetch;
};

std::shared_ptr<UniqueFd> create_sized_file(const std::filesystem::path& path, std::int64_t size) {
  auto fd =
      std::make_shared<UniqueFd>(::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (fd->get() < 0 || ::ftruncate(fd->get(), static_cast<off_t>(size)) != 0) {
    throw InputError("cannot create " + path.string() + ": " + std::strerror(errno));
  }
  return fd;
}

std::vector<std::function<void()>> range_tasks(Download& blob, const DownloadTuning& tuning) {
  std::vector<std::function<void()>> tasks;
  const std::int64_t size = blob.descriptor.size;
  BlobFetch* fetch = blob.fetch.get();
  if (size < tuning.range_threshold) {
    tasks.emplace_back([fetch, size] { fetch->fetch(0, size); });
    return tasks;
  }
  for (std::int64_t begin = 0; begin < size; begin += tuning.range_chunk) {
    const std::int64_t end = std::min(size, begin + tuning.range_chunk);
    tasks.emplace_back([fetch, begin, end] { fetch->fetch(begin, end); });
  }
  return tasks;
}

// Where a pull keeps blobs between download and sink: the cache, or a
// staging directory when there is none.
class BlobLanding {
 public:
  explicit BlobLanding(const TransferOptions& options) {
    if (options.cache_dir) {
      cache_.emplace(*options.cache_dir);
      // Temp files of killed pulls (a whole layer each) go now rather than
      // waiting for an `ecr cache` verb; live writers' files are flocked.
      cache_->sweep_temps();
    } else {
      staging_.emplace(std::filesystem::temp_directory_path() / "ecr-pull");
    }
  }

  BlobCache* cache() { return cache_ ? &*cache_ : nullptr; }

  // A download of `d`, ready for range_tasks.
  std::unique_ptr<Download> start(RegistrySession& session, const Descriptor& d,
                                  Reporter& reporter) {
    auto blob = std::make_unique<Download>(d);
    Download* raw = blob.get();
    RangeWriter write;
    if (cache_) {
      blob->writer.emplace(cache_->ranged_writer(d.digest, d.size));
      write = [raw](std::int64_t offset, std::string_view bytes) {
        raw->writer->write_at(offset, bytes);
      };
    } else {
      blob->staged = staging_->path() / std::string(d.digest.hex());
      blob->fd = create_sized_file(blob->staged, d.size);
      blob->hasher = std::make_unique<cache::InOrderHasher>(blob->fd->get(), d.size, blob->staged);
      write = [raw, to_file = file_range_writer(blob->fd->get())](std::int64_t offset,
                                                                  std::string_view bytes) {
        to_file(offset, bytes);
        raw->hasher->landed(offset, std::as_bytes(std::span(bytes.data(), bytes.size())));
      };
    }
    blob->fetch = std::make_unique<BlobFetch>(session, d, std::move(write), reporter);
    return blob;
  }

  // Verifies a downloaded blob (and, with a cache, commits it), fetching it
  // again whole when it does not match, at most kMaxIntegrityRefetches times.
  void finish(Download& blob, Reporter& reporter) {
    const Descriptor& d = blob.descriptor;
    for (int refetch = 0;; ++refetch) {
      std::string found;
      if (cache_) {
        try {
          blob.writer->commit();
          return;
        } catch (const IntegrityError& e) {
          found = e.what();
        }
      } else {
        const Digest got = blob.hasher->finish();
        if (got == d.digest) {
          // Created private while unverified; a sink may now link it, so
          // it is made durable like any blob a sink writes.
          if (::fchmod(blob.fd->get(), 0644) != 0 || ::fsync(blob.fd->get()) != 0) {
            throw InputError("cannot sync downloaded blob " + d.digest.str() + ": " +
                             std::strerror(errno));
          }
          return;
        }
        found = "blob " + d.digest.str() + ": content hashes to " + got.str();
      }
      if (refetch >= kMaxIntegrityRefetches) {
        throw IntegrityError(found + " as downloaded from the registry (fetched " +
                             std::to_string(refetch + 1) + " times)");
      }
      reporter.throw_if_cancelled();
      if (cache_) {
        blob.writer.emplace(cache_->ranged_writer(d.digest, d.size));
      } else {
        blob.hasher = std::make_unique<cache::InOrderHasher>(blob.fd->get(), d.size, blob.staged);
      }
      blob.fetch->fetch(0, d.size);
    }
  }

  // The file holding a downloaded blob, or a cached one (nullopt when the
  // cache no longer has it).
  std::optional<std::filesystem::path> file(const Descriptor& d) {
    if (cache_) return cache_->path(d.digest);
    return staging_->path() / std::string(d.digest.hex());
  }

  // The bytes of a downloaded blob, or of a cached one (nullptr when the
  // cache no longer has it).
  std::unique_ptr<ByteStream> open(const Descriptor& d, const Download* blob) {
    if (cache_) return cache_->open(d.digest);
    return std::make_unique<oci::FileRangeStream>(blob->fd, 0, d.size);
  }

 private:
  std::optional<BlobCache> cache_;
  std::optional<oci::StagingDir> staging_;
};

// Hands the ranges of a pull's blobs to its download workers. A worker gets
// the next range of the first blob that has no range in flight, so each
// blob's bytes arrive in order and are hashed as they are written
// (InOrderHasher), and no two workers write one file (contending for its
// inode lock). Only when every blob left has a range in flight (fewer blobs
// than workers, e.g. one large layer) does a blob get a second one, out of
// order: the one with the most ranges left. Its bytes are then read back
// from the page cache and hashed as soon as the earlier range lands.
class RangeQueue {
 public:
  explicit RangeQueue(std::vector<std::vector<std::function<void()>>> ranges)
      : blobs_(ranges.size()) {
    for (std::size_t b = 0; b < ranges.size(); ++b) blobs_[b].ranges = std::move(ranges[b]);
  }

  struct Taken {
    std::size_t blob;
    const std::function<void()>* fetch;
  };

  // The next range to fetch, or nullopt when none is left (or stop() was called).
  std::optional<Taken> take() {
    const std::lock_guard lock(mutex_);
    if (stopped_) return std::nullopt;
    Blob* chosen = nullptr;
    for (Blob& blob : blobs_) {
      if (blob.left() > 0 && blob.in_flight == 0) {
        chosen = &blob;
        break;
      }
      if (blob.left() > 0 && (chosen == nullptr || blob.left() > chosen->left())) chosen = &blob;
    }
    if (chosen == nullptr) return std::nullopt;
    ++chosen->in_flight;
    return Taken{static_cast<std::size_t>(chosen - blobs_.data()), &chosen->ranges[chosen->next++]};
  }

  void done(std::size_t blob) {
    const std::lock_guard lock(mutex_);
    --blobs_[blob].in_flight;
  }

  // Hands out nothing more (a worker failed).
  void stop() {
    const std::lock_guard lock(mutex_);
    stopped_ = true;
  }

  std::size_t size() const {
    std::size_t n = 0;
    for (const Blob& blob : blobs_) n += blob.ranges.size();
    return n;
  }

 private:
  struct Blob {
    std::vector<std::function<void()>> ranges;
    std::size_t next = 0;
    int in_flight = 0;
    std::size_t left() const { return ranges.size() - next; }
  };
  std::mutex mutex_;
  std::vector<Blob> blobs_;
  bool stopped_ = false;
};

// Downloads `blobs` in parallel (large ones as ranges, RangeQueue) on
// `options.jobs` workers and verifies each. The task that lands a blob's
// last range verifies (and commits) it at once, so hashing the rest and
// syncing one blob overlap the downloads of the others. Returns the bytes
// received.
std::int64_t download_all(std::vector<std::unique_ptr<Download>>& blobs, BlobLanding& landing,
                          Reporter& reporter, const TransferOptions& options,
                          const DownloadTuning& tuning) {
  std::vector<std::vector<std::function<void()>>> per_blob;
  for (auto& blob : blobs) {
    std::vector<std::function<void()>> ranges = range_tasks(*blob, tuning);
    auto left = std::make_shared<std::atomic<std::size_t>>(ranges.size());
    std::vector<std::function<void()>> finishing;
    for (auto& range : ranges) {
      finishing.emplace_back([range = std::move(range), left, &blob = *blob, &landing, &reporter] {
        range();
        if (left->fetch_sub(1) != 1) return;
        reporter.throw_if_cancelled();
        landing.finish(blob, reporter);
      });
    }
    per_blob.push_back(std::move(finishing));
  }
  RangeQueue queue(std::move(per_blob));
  const std::function<void()> worker = [&queue] {
    while (const auto range = queue.take()) {
      try {
        (*range->fetch)();
      } catch (...) {
        queue.stop();
        throw;
      }
      queue.done(range->blob);
    }
  };
  const std::size_t workers = std::min(static_cast<std::size_t>(options.jobs), queue.size());
  run_all(workers, std::vector<std::function<void()>>(workers, worker));
  std::int64_t received = 0;
  for (auto& blob : blobs) received += blob->fetch->bytes_received();
  return received;
}

// True when the cached blob `d` is there and hashes to its digest.
bool cached_blob_intact(BlobCache& cache, const Descriptor& d) {
  auto stream = cache.open(d.digest);
  if (!stream) return false;
  try {
    BlobReader reader(d, std::move(stream));
    std::vector<std::byte> buffer(1 << 20);
    while (reader.read(buffer) != 0) {
    }
    return true;
  } catch (const IntegrityError&) {
    return false;
  }
}

// Drops from the cache the blobs of `blobs` that are cached but do not hash
// to their digest (they are then downloaded), hashing on `jobs` threads.
// Blobs the sink holds or the cache lacks are not looked at.
void drop_damaged_cached_blobs(BlobCache& cache, ImageSink& sink,
                               const std::vector<Descriptor>& blobs, int jobs) {
  std::vector<const Descriptor*> cached;
  for (const auto& d : blobs) {
    if (!sink.has_blob(d.digest) && cache.contains(d.digest)) cached.push_back(&d);
  }
  std::vector<char> intact(cached.size(), 0);
  std::vector<std::function<void()>> tasks;
  for (std::size_t i = 0; i < cached.size(); ++i) {
    tasks.emplace_back([&, i] { intact[i] = cached_blob_intact(cache, *cached[i]) ? 1 : 0; });
  }
  run_all(static_cast<std::size_t>(jobs), tasks);
  for (std::size_t i = 0; i < cached.size(); ++i) {
    if (intact[i] == 0) cache.remove(cached[i]->digest);
  }
}

// Writes verified blobs into the sink. A cached blob that is gone (pruned by
// another process) or whose bytes fail the sink's digest check (damaged on
// disk) is dropped from the cache, downloaded again and written again.
struct SinkDelivery {
  BlobLanding& landing;
  RegistrySession& session;
  ImageSink& sink;
  Reporter& reporter;
  const TransferOptions& options;
  const DownloadTuning& tuning;

  // `blob`: this pull's download of `d`, null for a cached blob. `verified`:
  // the landed file is known to hold `d` (downloaded and checked by this
  // pull, or a cached blob hashed up front), so a sink that takes files may
  // have it without reading it. Updates `r`'s action and `result`'s byte
  // counts when a cached blob is refetched.
  void deliver(const Descriptor& d, const Download* blob, BlobResult& r, PullResult& result,
               bool verified) {
    for (;;) {
      reporter.throw_if_cancelled();
      if (verified && place(d)) break;
      if (auto stream = landing.open(d, blob)) {
        if (write(d, std::move(stream), r.action == BlobAction::kCached)) break;
        landing.cache()->remove(d.digest);
      } else if (r.action != BlobAction::kCached) {
        throw InputError("blob " + d.digest.str() + " left the cache while being pulled");
      }
      r.action = BlobAction::kDownloaded;
      result.bytes_skipped -= d.size;
      std::vector<std::unique_ptr<Download>> again;
      again.push_back(landing.start(session, d, reporter));
      result.bytes_moved += download_all(again, landing, reporter, options, tuning);
      blob = nullptr;
      verified = true;
    }
    reporter.report(d.digest, BlobState::kDone, d.size, d.size);
  }

  // True when the sink took the landed file of `d` as it is.
  bool place(const Descriptor& d) {
    const auto file = landing.file(d);
    return file && sink.place_file(d, *file);
  }

  // Returns false when a cached blob turned out damaged; rethrows otherwise.
  bool write(const Descriptor& d, std::unique_ptr<ByteStream> stream, bool cached) {
    try {
      BlobReader reader(d, std::move(stream));
      sink.write_blob(reader);
      return true;
    } catch (const IntegrityError&) {
      if (!cached) throw;
    } catch (const Error&) {
      // E.g. a docker-archive sink's decompressor tripping over damaged
      // bytes before the digest check: retry only when the entry is bad.
      if (!cached || cached_blob_intact(*landing.cache(), d)) throw;
    }
    return false;
  }
};

}  // namespace

Platform host_platform() {
#if defined(__aarch64__)
  return Platform{.os = "linux", .architecture = "arm64", .variant = "v8"};
#else
  return Platform{.os = "linux", .architecture = "amd64"};
#endif
}

PullResult pull_image(RegistrySession& session, const ImageReference& source, ImageSink& sink,
                      const std::vector<std::string>& names, const TransferOptions& options,
                      const DownloadTuning& tuning) {
  options.validate();
  const auto started = std::chrono::steady_clock::now();
  Reporter reporter(options.progress, options.cancel);
  BlobLanding landing(options);
  BlobCache* cache = landing.cache();
  const PullPlan plan = plan_pull(session, source, sink, options, cache);

  PullResult result{.digest = plan.root.digest,
                    .media_type = plan.root.media_type,
                    .blobs = {},
                    .bytes_moved = 0,
                    .bytes_skipped = 0,
                    .seconds = 0};
  const bool sink_places_files = sink.traits().places_files;
  for (const auto& d : plan.blobs) reporter.report(d.digest, BlobState::kChecking, 0, d.size);
  if (cache && sink_places_files) drop_damaged_cached_blobs(*cache, sink, plan.blobs, options.jobs);
  std::vector<std::unique_ptr<Download>> downloads;
  std::map<Digest, Download*> download_of;
  for (const auto& d : plan.blobs) {
    if (sink.has_blob(d.digest)) {
      result.blobs.push_back({d.digest, d.size, BlobAction::kExists});
      result.bytes_skipped += d.size;
      reporter.report(d.digest, BlobState::kExists, d.size, d.size);
    } else if (cache && cache->contains(d.digest)) {
      result.blobs.push_back({d.digest, d.size, BlobAction::kCached});
      result.bytes_skipped += d.size;
      reporter.report(d.digest, BlobState::kCached, d.size, d.size);
    } else {
      result.blobs.push_back({d.digest, d.size, BlobAction::kDownloaded});
      downloads.push_back(landing.start(session, d, reporter));
      download_of[d.digest] = downloads.back().get();
    }
  }
  result.bytes_moved += download_all(downloads, landing, reporter, options, tuning);

  // Into the sink, in plan order (one result per planned blob, same order).
  for (std::size_t i = 0; i < plan.blobs.size(); ++i) {
    if (result.blobs[i].action == BlobAction::kExists) continue;
    const auto it = download_of.find(plan.blobs[i].digest);
    // Downloads were verified by download_all; cached blobs up front when the
    // sink takes files (and by the sink's BlobReader otherwise).
    const bool verified = result.blobs[i].action == BlobAction::kDownloaded || sink_places_files;
    SinkDelivery delivery{landing, session, sink, reporter, options, tuning};
    delivery.deliver(plan.blobs[i], it == download_of.end() ? nullptr : it->second, result.blobs[i],
                     result, verified);
  }
  for (const auto& child : plan.children) sink.write_manifest(child, {}, false);
  sink.write_manifest(plan.root, names, true);
  reporter.throw_if_cancelled();
  sink.commit();

  result.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return result;
}

}  // namespace ecr::transfer
