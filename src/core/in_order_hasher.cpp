#include "core/in_order_hasher.hpp"

#include <algorithm>
#include <iterator>
#include <mutex>
#include <vector>

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

// Tags the read-back buffers (core/thread_buffer.hpp): a file's own, and
// another file's set-aside bytes read back to pair with.
struct ReadBack;
struct PartnerReadBack;

// The files that have had bytes land and are not finished: partners for one
// another's set-aside bytes. Lock order: a file's mutex, then this one's,
// then (only tried) another file's.
struct Files {
  std::mutex mutex;
  std::vector<InOrderHasher*> all;
};

Files& files() {
  static Files f;
  return f;
}

// How many pieces of set-aside bytes the process's files hold (kHeldPieces at most).
std::atomic<std::size_t> held_pieces{0};

}  // namespace

InOrderHasher::InOrderHasher(int fd, std::int64_t size, std::filesystem::path path,
                             std::int64_t base)
    : fd_(fd), base_(base), size_(size), path_(std::move(path)) {}

InOrderHasher::~InOrderHasher() {
  leave();
  {
    // A thread that took this file as a partner before it left may still hold it.
    const std::lock_guard wait(mutex_);
    held_.clear();
  }
  bool idle = false;
  {
    const std::lock_guard lock(files().mutex);
    idle = files().all.empty();
  }
  if (idle) release_free_pieces();
}

void InOrderHasher::join() {
  const std::lock_guard lock(files().mutex);
  files().all.push_back(this);
  joined_ = true;
}

void InOrderHasher::leave() {
  const std::lock_guard lock(files().mutex);
  std::erase(files().all, this);
}

std::int64_t InOrderHasher::set_aside() const {
  if (pending_.empty() || pending_.begin()->first != hashed_to_) return 0;
  return pending_.begin()->second - hashed_to_;
}

bool InOrderHasher::may_set_aside(std::size_t size, Clock::time_point now) const {
  if (!Sha256Lane::interleaves() || rehash_) return false;
  if (set_aside() + static_cast<std::int64_t>(size) > kSetAsideBytes) return false;
  // A partner waiting at the meet pairs with these bytes now.
  if (HashMeet::shared().has_waiting()) return false;
  // Another file's bytes landed lately, but not so lately that the meet
  // would have them wait for these (HashMeet's `recent`).
  Clock::rep latest = 0;
  {
    const std::lock_guard lock(files().mutex);
    for (const InOrderHasher* other : files().all) {
      if (other != this)
        latest = std::max(latest, other->landed_at_.load(std::memory_order_relaxed));
    }
  }
  const Clock::time_point other_landed{Clock::duration(latest)};
  return now - other_landed < kPartnerRecent && now - other_landed >= HashMeet::kDownloads.recent;
}

bool InOrderHasher::pair_with_set_aside(const std::byte* data, std::size_t size) {
  InOrderHasher* other = nullptr;
  {
    const std::lock_guard lock(files().mutex);
    for (InOrderHasher* candidate : files().all) {
      if (candidate == this || !candidate->mutex_.try_lock()) continue;
      if (!candidate->rehash_ && candidate->set_aside() > 0) {
        other = candidate;
        break;
      }
      candidate->mutex_.unlock();
    }
  }
  if (other == nullptr) return false;
  const std::lock_guard other_lock(other->mutex_, std::adopt_lock);
  const std::span<std::byte> buffer = thread_buffer<PartnerReadBack>(kReadBackBytes);
  const auto want = static_cast<std::size_t>(
      std::min<std::int64_t>({static_cast<std::int64_t>(size), other->set_aside(),
                              static_cast<std::int64_t>(buffer.size())}));
  std::span<const std::byte> theirs;
  try {
    theirs = other->bytes_at_frontier(buffer.first(want), other->hashed_to_ + other->set_aside());
  } catch (const InputError&) {
    // The other file's own hashing meets the failure and reports it.
  }
  if (theirs.empty()) return false;
  const std::size_t n = theirs.size();
  update_pair(other->hash_, theirs.data(), n, hash_, data, size);
  const std::int64_t stretch_end = other->pending_.begin()->second;
  other->pending_.erase(other->pending_.begin());
  other->hashed_on(n);
  if (other->hashed_to_ < stretch_end) other->pending_.emplace(other->hashed_to_, stretch_end);
  const std::size_t common = std::min(n, size);
  HashMeet::shared().add_counts({.paired_bytes = 2 * common, .alone_bytes = n + size - 2 * common});
  return true;
}

void InOrderHasher::hash(const std::byte* data, std::size_t size) {
  if (Sha256Lane::interleaves() && !HashMeet::shared().has_waiting() &&
      pair_with_set_aside(data, size)) {
    return;
  }
  HashMeet::shared().update(hash_, data, size);
}

InOrderHasher::Clock::time_point InOrderHasher::arrive() {
  const Clock::time_point now = Clock::now();
  landed_at_.store(now.time_since_epoch().count(), std::memory_order_relaxed);
  if (!joined_) join();
  return now;
}

bool InOrderHasher::hash_at_frontier(std::int64_t offset, std::span<const std::byte> data,
                                     Clock::time_point now) {
  if (rehash_ || offset != hashed_to_ || may_set_aside(data.size(), now)) return false;
  hash(data.data(), data.size());
  hashed_to_ += static_cast<std::int64_t>(data.size());
  catch_up();
  return true;
}

bool InOrderHasher::would_take(std::int64_t offset) const {
  const std::lock_guard lock(mutex_);
  return !rehash_ && offset == hashed_to_ + set_aside();
}

bool InOrderHasher::take(std::int64_t offset, std::span<const std::byte> data) {
  if (data.empty()) return true;
  const std::lock_guard lock(mutex_);
  const Clock::time_point now = arrive();
  if (rehash_ || offset != hashed_to_ + set_aside()) return false;
  if (may_set_aside(data.size(), now) && hold(offset, data)) return true;
  catch_up();  // the bytes set aside before these
  hash(data.data(), data.size());
  hashed_to_ += static_cast<std::int64_t>(data.size());
  catch_up();
  return true;
}

bool InOrderHasher::hold(std::int64_t offset, std::span<const std::byte> data) {
  if (data.size() > kPieceBytes) return false;
  std::size_t held = held_pieces.load();
  do {
    if (held >= kHeldPieces) return false;
  } while (!held_pieces.compare_exchange_weak(held, held + 1));
  std::unique_ptr<std::atomic<std::size_t>, LetGo> counted(&held_pieces);
  // The download's own piece when the bytes are in it; else a copy.
  SharedPiece memory = share_gathering_piece(data);
  std::span<const std::byte> bytes = data;
  if (memory == nullptr) {
    memory = new_piece();
    std::copy(data.begin(), data.end(), memory.get());
    bytes = {memory.get(), data.size()};
  }
  held_.push_back({.offset = offset,
                   .bytes = bytes,
                   .memory = std::move(memory),
                   .counted = std::move(counted)});
  note_pending(offset, offset + static_cast<std::int64_t>(data.size()));
  return true;
}

void InOrderHasher::landed(std::int64_t offset, std::span<const std::byte> data) {
  const std::lock_guard lock(mutex_);
  const Clock::time_point now = arrive();
  if (rehash_ || data.empty()) return;
  const std::int64_t end = offset + static_cast<std::int64_t>(data.size());
  const bool over_held =
      !held_.empty() &&
      offset < held_.back().offset + static_cast<std::int64_t>(held_.back().bytes.size()) &&
      end > held_.front().offset;
  if (offset < hashed_to_ || over_held) {
    // Bytes already hashed, or held in memory, were written again: which
    // copy the file holds is no longer known here, so finish() hashes the
    // file itself.
    rehash_ = true;
    pending_.clear();
    held_.clear();
    return;
  }
  if (hash_at_frontier(offset, data, now)) return;
  // Beyond the frontier, or set aside at it.
  note_pending(offset, end);
  // Set-aside bytes past the limit, or with no partner in sight any more,
  // are hashed now.
  if (set_aside() > 0 && !may_set_aside(0, now)) catch_up();
}

void InOrderHasher::note_pending(std::int64_t offset, std::int64_t end) {
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
      held_.clear();
      return;
    }
    hash_from_file(end);
  }
}

void InOrderHasher::hash_from_file(std::int64_t end) {
  const std::span<std::byte> buffer = thread_buffer<ReadBack>(kReadBackBytes);
  while (hashed_to_ < end) {
    const std::span<const std::byte> bytes = bytes_at_frontier(buffer, end);
    if (bytes.empty()) {
      throw InputError("cannot hash " + path_.string() + ": it ends at " +
                       std::to_string(hashed_to_) + " bytes, before its size " +
                       std::to_string(size_));
    }
    hash(bytes.data(), bytes.size());
    hashed_on(bytes.size());
  }
}

std::span<const std::byte> InOrderHasher::bytes_at_frontier(std::span<std::byte> buffer,
                                                            std::int64_t end) {
  const auto want = static_cast<std::size_t>(
      std::min<std::int64_t>(end - hashed_to_, static_cast<std::int64_t>(buffer.size())));
  if (!held_.empty() && held_.front().offset <= hashed_to_) {
    const std::span<const std::byte> rest =
        held_.front().bytes.subspan(static_cast<std::size_t>(hashed_to_ - held_.front().offset));
    return rest.first(std::min(want, rest.size()));
  }
  // Up to the next held piece, which the file may not have in its page cache.
  std::size_t read = want;
  if (!held_.empty()) {
    read = static_cast<std::size_t>(
        std::min<std::int64_t>(static_cast<std::int64_t>(want), held_.front().offset - hashed_to_));
  }
  return buffer.first(read_some_at(fd_, buffer.first(read), base_ + hashed_to_, path_));
}

void InOrderHasher::hashed_on(std::size_t n) {
  hashed_to_ += static_cast<std::int64_t>(n);
  while (!held_.empty() &&
         held_.front().offset + static_cast<std::int64_t>(held_.front().bytes.size()) <=
             hashed_to_) {
    held_.erase(held_.begin());
  }
}

Digest InOrderHasher::finish() {
  const std::lock_guard lock(mutex_);
  leave();
  if (rehash_) {
    hash_ = Sha256Lane();
    hashed_to_ = 0;
    rehash_ = false;
  }
  pending_.clear();  // held_ stays: hash_from_file takes its bytes from there
  hash_from_file(size_);
  return hash_.finish();
}

std::int64_t InOrderHasher::hashed() const {
  const std::lock_guard lock(mutex_);
  return hashed_to_;
}

}  // namespace ecr
