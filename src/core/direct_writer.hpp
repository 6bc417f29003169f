// Writes that go past the page cache (O_DIRECT), started and waited for
// apart, so the writer hashes the bytes while the device takes them.
//
// Why: a pull into an oci-archive wrote every byte through ext4's page
// cache, and that path (a buffer head for each 4 KiB block, the copy,
// starting writeback, dropping the pages behind) was about a fifth of a big
// layer's pull CPU. Written directly, the bytes cost the pull 10-17% less
// CPU. Waited for at once, direct writes made the pull's wall time 12-17%
// longer (the device's time added to the hash's), so a write is started
// (Linux AIO, where the kernel has it), the caller hashes the same bytes,
// then waits. The write is asynchronous only when the bytes sit at the same
// place in a page of memory as in the file's page: ext4 makes any other
// direct write wait for the device inside io_submit. Where the device is
// busy with other reads (an ecr-local on the same disk), the waits still
// cost wall time, so the cache's files are written through the page cache.
// docs/performance.md, "2026-12-05 08:15".
//
// Only whole pages are written directly (aligned_part): the bytes around
// them go through the page cache, so no page is written both ways. Bytes
// written directly are not in the page cache afterwards, so only bytes that
// will not be read back soon go this way (write_and_hash).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <span>

#include "core/file.hpp"

namespace ecr {

class DirectWriter {
 public:
  // Direct writes to the file open as `fd` (not owned; it must stay open),
  // through a second descriptor opened O_DIRECT. An invalid writer when the
  // file system takes none (valid() is then false, aligned_part() empty).
  // `path` names the file in errors.
  static DirectWriter open(int fd, std::filesystem::path path);
  DirectWriter() = default;

  bool valid() const { return state_ != nullptr && !state_->refused.load(); }

  // Where [offset, offset + data.size()) may be written directly: the whole
  // pages inside it, when their bytes in `data` sit at an address the device
  // takes. begin == end when there are none.
  struct Stretch {
    std::int64_t begin = 0;
    std::int64_t end = 0;
  };
  Stretch aligned_part(std::int64_t offset, std::span<const std::byte> data) const;

  class Pending;
  // Starts writing `data` at `offset`, a stretch aligned_part() gave. The
  // bytes must stay as they are until the write is waited for, on the thread
  // that started it. A thread has one write in flight at most: a second one
  // started meanwhile is made when it is waited for.
  Pending start(std::span<const std::byte> data, std::int64_t offset) const;

  // Bytes written directly so far (writes waited for).
  std::int64_t bytes_written() const { return state_ ? state_->written.load() : 0; }

 private:
  struct State {
    UniqueFd fd;
    std::filesystem::path path;
    std::int64_t offset_align = 0;  // at least a page
    std::uintptr_t memory_align = 0;
    // Set when the device refused a direct write (EINVAL): the file's bytes
    // then all go through the page cache.
    std::atomic<bool> refused{false};
    std::atomic<std::int64_t> written{0};
  };
  std::shared_ptr<State> state_;
};

class InOrderHasher;

// A file a blob is written into at any offsets by several threads, and
// hashed by an InOrderHasher as its pieces land (an oci-archive written in
// place, a cache file fetched in ranges).
struct HashedFile {
  int fd;                                // not owned
  const std::filesystem::path& path;     // names the file in errors
  std::mutex& turn;                      // taken around each buffered write (write_all_at)
  const DirectWriter* direct = nullptr;  // none, or invalid: all through the page cache
  std::int64_t base = 0;                 // where the blob starts in the file
};

// Writes `data`, the blob's bytes from `offset`, and has `hasher` hash them.
// When they extend the bytes landed in order (InOrderHasher::take), the whole
// pages inside go directly (given a `direct` writer), and the hasher hashes
// the piece from memory, or copies it to wait for a partner, while the
// device takes them; the bytes around them, and pieces the hash will read
// back (ahead of it), go through the page cache and are then told to the
// hasher.
// Throws InputError naming the file when a write or a read-back fails.
void write_and_hash(const HashedFile& file, InOrderHasher& hasher, std::int64_t offset,
                    std::span<const std::byte> data);

// A direct write in flight. Destroying it waits for the write (its bytes
// must outlive the device reading them) and ignores how it ended.
class DirectWriter::Pending {
 public:
  Pending(Pending&& other) noexcept;
  Pending& operator=(Pending&&) = delete;
  Pending(const Pending&) = delete;
  ~Pending();

  // Waits for the write. True when the bytes are written; false when the
  // device refused to take them directly (EINVAL), and the caller writes
  // them through the page cache instead (the writer is then invalid).
  // Throws InputError naming the file on any other failure.
  bool wait();

 private:
  friend class DirectWriter;
  Pending(std::shared_ptr<State> state, std::span<const std::byte> data, std::int64_t offset);
  // Writes [done_, size) with pwrite; the result as wait() gives it.
  bool write_rest();

  std::shared_ptr<State> state_;
  std::span<const std::byte> data_;
  std::int64_t offset_ = 0;
  bool in_flight_ = false;  // submitted to the thread's AIO context, not yet reaped
  bool finished_ = false;
  bool written_ = false;
  int error_ = 0;  // errno of a failed write, found when it was submitted or reaped
  std::size_t done_ = 0;
};

}  // namespace ecr
