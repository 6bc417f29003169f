// Progress reporting and cancellation shared by the push and pull engines.
#pragma once

#include <atomic>
#include <mutex>

#include "ecr/transfer.hpp"

namespace ecr::transfer {

// Byte progress is reported at most once per this many bytes per blob, so a
// callback that prints a line is not called for every 16 KiB curl chunk.
inline constexpr std::int64_t kProgressStep = 1 << 20;

class Reporter {
 public:
  Reporter(const ProgressCallback& callback, const std::atomic<bool>* cancel)
      : callback_(callback), cancel_(cancel) {}

  void report(const Digest& digest, BlobState state, std::int64_t done, std::int64_t total,
              std::optional<Descriptor> stored_as = std::nullopt) {
    if (!callback_) return;
    const std::lock_guard lock(mutex_);
    callback_(ProgressEvent{digest, state, done, total, std::move(stored_as)});
  }
  bool cancelled() const noexcept { return cancel_ && cancel_->load(); }
  void throw_if_cancelled() const {
    if (cancelled()) throw Cancelled();
  }

 private:
  const ProgressCallback& callback_;
  const std::atomic<bool>* cancel_;
  std::mutex mutex_;
};

}  // namespace ecr::transfer
