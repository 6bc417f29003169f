// SHA-256 of a file that is written at any offsets, from several threads,
// computed as much as possible while it is written.
//
// Bytes that land at the hashed frontier are hashed from the caller's
// buffer. Bytes that land beyond it are noted, and read back from the file
// (while they are still in the page cache) as soon as the frontier reaches
// them, by the thread whose write moved it. So a blob fetched as parallel
// ranges is hashed during the download, not all at the end, and bytes that
// arrive in order are never read back. A write inside the hashed prefix (the
// same bytes fetched twice) makes finish() hash the whole file again. All
// hashing goes through HashMeet::shared(), so the bytes of two files landing
// at once on two threads are hashed together on one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <span>

#include "core/sha256_lanes.hpp"
#include "ecr/digest.hpp"

namespace ecr {

class InOrderHasher {
 public:
  // `fd` (not owned) holds the file of `size` bytes from byte `base` of the
  // file on (0: the whole file; an archive member's data elsewhere); offsets
  // given to landed() count from `base`. `path` names the file in errors.
  InOrderHasher(int fd, std::int64_t size, std::filesystem::path path, std::int64_t base = 0);

  // Records that `data` was written at `offset` of the file (after the
  // write). Thread-safe. Throws InputError when a read-back fails.
  void landed(std::int64_t offset, std::span<const std::byte> data);

  // The digest of the file's `size` bytes: what was not hashed on the way is
  // read back (a range never written reads as zeros). Call once, after the
  // last landed(). Throws InputError when a read fails.
  Digest finish();

  // Bytes hashed so far, from the start of the file.
  std::int64_t hashed() const;

 private:
  // Hashes the pending bytes the frontier has reached. Holds mutex_.
  void catch_up();
  void hash_from_file(std::int64_t end);

  int fd_;
  std::int64_t base_;
  std::int64_t size_;
  std::filesystem::path path_;
  mutable std::mutex mutex_;
  Sha256Lane hash_;  // fed through HashMeet::shared()
  std::int64_t hashed_to_ = 0;
  bool rehash_ = false;
  // Written but not hashed yet: disjoint [begin, end) stretches beyond
  // hashed_to_, keyed by begin, adjacent ones merged.
  std::map<std::int64_t, std::int64_t> pending_;
};

}  // namespace ecr
