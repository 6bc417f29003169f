// Writes into a file past the page cache (O_DIRECT) where that saves a copy.
//
// A buffered write copies every byte into the page cache, and the kernel then
// writes the pages out; an O_DIRECT write hands the caller's buffer to the
// device. For a download written once and fsynced at the end (an oci-archive
// written in place), going past the cache saves the copy and the page cache's
// bookkeeping: on this project's bench machine, 2 GB written with dd cost
// 0.46 s of system time buffered and 0.17-0.19 s direct, and several times
// more buffered when the guest's memory had not been touched yet
// (docs/performance.md).
//
// O_DIRECT wants the file offset, the length and the buffer's address aligned
// to the device's block. A DirectWriter uses whole pages (kDirectPage): only
// the pages a write covers completely, from a buffer that lies page-aligned
// with its place in the file, go direct; the ragged head and tail go through
// the page cache. So no page is ever both cached and written directly by two
// writes of disjoint bytes, and reads of the file see every byte (the kernel
// drops cached pages a direct write overlaps). Where the file system has no
// direct I/O (tmpfs before 6.6, some network file systems), /proc is not
// mounted or the first direct write is refused, every write goes through the
// page cache, as before.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>

#include "core/file.hpp"

namespace ecr {

// The alignment of direct writes: a page, which is at least the logical block
// of every device this runs on.
inline constexpr std::size_t kDirectPage = 4096;

class DirectWriter {
 public:
  // Writes into the regular file open for writing as `fd` (not owned), named
  // `path` in errors. Opens a second, O_DIRECT descriptor on it through /proc.
  DirectWriter(int fd, std::filesystem::path path);

  // Writes all of `data` at `offset`: the whole pages it covers past the page
  // cache when the file allows it and `data` lies page-aligned with `offset`
  // (data.data() and offset equal modulo kDirectPage); everything else
  // through the page cache. Returns the bytes written through the page
  // cache. Safe from several threads at once for disjoint ranges. Throws
  // InputError.
  std::size_t write_at(std::span<const std::byte> data, std::int64_t offset);

  // False once direct writes are known not to work on this file.
  bool direct_possible() const noexcept { return direct_ok_.load(std::memory_order_relaxed); }

 private:
  // Writes whole pages through the direct descriptor, or through the page
  // cache what the file system refuses; returns the bytes that went through
  // the page cache.
  std::size_t write_direct(std::span<const std::byte> data, std::int64_t offset);

  int fd_;
  std::filesystem::path path_;
  UniqueFd direct_;
  std::atomic<bool> direct_ok_ = false;
};

}  // namespace ecr
