// What a transfer reports while it runs, and what it shares with the places
// it reads and writes (TransferContext): the job count, progress, the cancel
// flag and the bytes moved.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string_view>

#include "ecr/digest.hpp"
#include "ecr/error.hpp"
#include "ecr/manifest.hpp"

namespace ecr {

// What happened to one blob.
enum class BlobAction {
  kUploaded,    // sent to a registry through the layer upload APIs
  kExists,      // the destination had it
  kDownloaded,  // fetched from a registry
  kCached,      // served by the local cache (TransferOptions::cache_dir), not downloaded
  kCopied,      // read from a local source and written to a local destination
};
std::string_view blob_action_name(BlobAction action) noexcept;  // "uploaded", ...

enum class BlobState { kChecking, kExists, kUploading, kDownloading, kCached, kDone };
std::string_view blob_state_name(BlobState state) noexcept;  // "checking", ...

// A layer compressed on the way (a docker-save layer pushed) is reported
// under its uncompressed digest, with the uncompressed bytes read so far out
// of its uncompressed size (the compressed size is not known until the end);
// its kDone event names the compressed blob the destination now holds.
struct ProgressEvent {
  Digest digest;
  BlobState state;
  std::int64_t bytes_done = 0;
  std::int64_t bytes_total = 0;
  // kDone of a layer compressed on the way: the blob written for it.
  std::optional<Descriptor> stored_as = std::nullopt;
};
// Called from worker threads, one call at a time (the transfer serializes
// calls). Must not throw.
using ProgressCallback = std::function<void(const ProgressEvent&)>;

// Byte progress is reported at most once per this many bytes per blob, so a
// callback that prints a line is not called for every 16 KiB curl chunk.
inline constexpr std::int64_t kProgressStep = 1 << 20;

// One transfer's shared state, made by copy() and handed to the sources and
// sinks it drives, so that a registry source's downloads and a registry
// sink's uploads report through one serialized callback and stop on one flag.
// Thread-safe.
class TransferContext {
 public:
  // `progress` may be empty; `cancel` (not owned) may be null. `jobs` >= 1.
  TransferContext(int jobs, ProgressCallback progress, const std::atomic<bool>* cancel)
      : jobs_(jobs), progress_(std::move(progress)), cancel_(cancel) {}
  TransferContext(const TransferContext&) = delete;
  TransferContext& operator=(const TransferContext&) = delete;

  // Blobs moved at once.
  int jobs() const noexcept { return jobs_; }

  void report(const Digest& digest, BlobState state, std::int64_t done, std::int64_t total,
              std::optional<Descriptor> stored_as = std::nullopt) {
    if (!progress_) return;
    const std::lock_guard lock(mutex_);
    progress_(ProgressEvent{digest, state, done, total, std::move(stored_as)});
  }

  bool cancelled() const noexcept { return cancel_ != nullptr && cancel_->load(); }
  // Throws Cancelled once the cancel flag is set.
  void throw_if_cancelled() const {
    if (cancelled()) throw Cancelled();
  }
  const std::atomic<bool>* cancel_flag() const noexcept { return cancel_; }

  // Bytes sent to a registry (re-sends included) and received from one
  // (refetches included), as the sinks and sources count them.
  void add_sent(std::int64_t n) noexcept { sent_ += n; }
  void add_received(std::int64_t n) noexcept { received_ += n; }
  std::int64_t sent() const noexcept { return sent_.load(); }
  std::int64_t received() const noexcept { return received_.load(); }

 private:
  int jobs_;
  ProgressCallback progress_;
  const std::atomic<bool>* cancel_;
  std::mutex mutex_;
  std::atomic<std::int64_t> sent_{0};
  std::atomic<std::int64_t> received_{0};
};

}  // namespace ecr
