#include "core/in_order_hasher.hpp"

#include <algorithm>
#include <iterator>

#include "core/file.hpp"
#include "core/hash_meet.hpp"
#include "core/thread_buffer.hpp"
#include "ecr/error.hpp"

namespace ecr {

namespace {

// Read size when bytes are hashed from the file: the 1 MiB a download hands
// over at once (kWriteBytes, transfer/blob_download.hpp), so a piece read
// back and a piece landing on another thread pair whole in HashMeet rather
// than the longer one's tail being hashed alone. Alternating pulls of the
// realistic bench image into an oci-archive (docs/performance.md, 2026-12-05):
// 164-174 MB of its 265 MB hashed in pairs against 126-136 MB with 256 KiB
// reads, and 0.278 CPU-s against 0.299 (medians of 8).
constexpr std::size_t kReadBackBytes = 1 << 20;

// Tags the read-back buffer (core/thread_buffer.hpp).
struct ReadBack;

}  // namespace

InOrderHasher::InOrderHasher(int fd, std::int64_t size, std::filesystem::path path,
                             std::int64_t base)
    : fd_(fd), base_(base), size_(size), path_(std::move(path)) {}

void InOrderHasher::landed(std::int64_t offset, std::span<const std::byte> data) {
  std::int64_t end = offset + static_cast<std::int64_t>(data.size());
  const std::lock_guard lock(mutex_);
  if (rehash_ || data.empty()) return;
  if (offset < hashed_to_) {
    // Bytes already hashed were written again: which copy the file holds is
    // no longer known here, so finish() hashes the file itself.
    rehash_ = true;
    pending_.clear();
    return;
  }
  if (offset == hashed_to_) {
    HashMeet::shared().update(hash_, data.data(), data.size());
    hashed_to_ = end;
    catch_up();
    return;
  }
  // Beyond the frontier: note it, merged with the stretches it touches.
  auto next = pending_.upper_bound(offset);
  if (next != pending_.begin()) {
    auto before = std::prev(next);
    if (before->second >= offset) {
      offset = before->first;
      end = std::max(end, before->second);
      next = pending_.erase(before);
    }
  }
  while (next != pending_.end() && next->first <= end) {
    end = std::max(end, next->second);
    next = pending_.erase(next);
  }
  pending_.emplace(offset, end);
}

void InOrderHasher::catch_up() {
  while (!rehash_ && !pending_.empty() && pending_.begin()->first <= hashed_to_) {
    const auto [begin, end] = *pending_.begin();
    pending_.erase(pending_.begin());
    if (begin < hashed_to_) {
      // The in-order write just hashed overlapped bytes written out of order.
      rehash_ = true;
      pending_.clear();
      return;
    }
    hash_from_file(end);
  }
}

void InOrderHasher::hash_from_file(std::int64_t end) {
  const std::span<std::byte> buffer = thread_buffer<ReadBack>(kReadBackBytes);
  while (hashed_to_ < end) {
    const auto want = static_cast<std::size_t>(
        std::min<std::int64_t>(end - hashed_to_, static_cast<std::int64_t>(buffer.size())));
    const std::size_t n = read_some_at(fd_, buffer.first(want), base_ + hashed_to_, path_);
    if (n == 0) {
      throw InputError("cannot hash " + path_.string() + ": it ends at " +
                       std::to_string(hashed_to_) + " bytes, before its size " +
                       std::to_string(size_));
    }
    HashMeet::shared().update(hash_, buffer.data(), n);
    hashed_to_ += static_cast<std::int64_t>(n);
  }
}

Digest InOrderHasher::finish() {
  const std::lock_guard lock(mutex_);
  if (rehash_) {
    hash_ = Sha256Lane();
    hashed_to_ = 0;
    rehash_ = false;
  }
  pending_.clear();
  hash_from_file(size_);
  return hash_.finish();
}

std::int64_t InOrderHasher::hashed() const {
  const std::lock_guard lock(mutex_);
  return hashed_to_;
}

}  // namespace ecr
