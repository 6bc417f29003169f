// The local content-addressed blob cache and the digest index used by push.
//
// Layout under the cache root (default $XDG_CACHE_HOME/ecr, else ~/.cache/ecr):
//   blobs/sha256/<hex>   one verified blob per file, never modified in place
//   tmp/<random>.tmp     blobs being written (each held under flock by its writer)
//   index/<hex>          push's digest index entries (src/cache/digest_index.hpp)
//
// Storage rules (DESIGN.md): a blob is written to a temp file on the same
// filesystem, verified against its digest and size while written, fsynced and
// renamed into place. A crash leaves the whole verified blob or nothing; a killed
// writer leaves only a temp file, which sweep_temps() removes. Several processes
// and threads may use one cache at once: rename is atomic, two writers of the
// same blob both succeed, readers never see a partial blob.
//
// "Last used" is the blob file's mtime: path() and open() set it to now, and so
// does a commit. prune() removes least recently used blobs first.
//
// File system failures (permissions, disk full) throw InputError naming the path
// and the system's reason, as the oci layer does for image files.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ecr/digest.hpp"
#include "ecr/image.hpp"

namespace ecr {

// $XDG_CACHE_HOME/ecr when XDG_CACHE_HOME is set and non-empty, else
// $HOME/.cache/ecr. Throws InputError when neither variable is set.
std::filesystem::path default_cache_root();

// One cached blob.
struct CacheEntry {
  Digest digest;
  std::int64_t size = 0;
  std::chrono::system_clock::time_point last_used;  // the blob file's mtime
};

// Writes one blob into the cache. Bytes go to a private temp file; commit()
// checks them and makes the blob visible. Destroying an uncommitted writer (or
// calling abort()) removes the temp file. Movable, not copyable.
//
// A sequential writer (BlobCache::writer) takes bytes in order through
// write(), one thread at a time. A ranged writer (BlobCache::ranged_writer)
// takes them at any offset through write_at(), from several threads at once
// (parallel byte-range downloads); commit() still hashes every byte before
// anything becomes visible.
class BlobWriter {
 public:
  ~BlobWriter();
  BlobWriter(BlobWriter&&) noexcept;
  BlobWriter& operator=(BlobWriter&&) noexcept;
  BlobWriter(const BlobWriter&) = delete;
  BlobWriter& operator=(const BlobWriter&) = delete;

  // Appends bytes, hashing them on the way. Throws IntegrityError naming the
  // digest as soon as more bytes arrive than the expected size (the temp file
  // is removed and the writer is then aborted), InputError on a write failure.
  void write(std::span<const std::byte> data);
  void write(std::string_view data) { write(std::as_bytes(std::span(data.data(), data.size()))); }

  // Ranged writers only: writes `data` at `offset` of the blob. Safe to call
  // from several threads at once. Throws IntegrityError when the bytes would
  // lie outside the blob's size (nothing is written), InputError on a write
  // failure, std::logic_error on a sequential writer. Bytes written at the
  // same offset twice: the last write wins (commit() then re-hashes it all).
  void write_at(std::int64_t offset, std::span<const std::byte> data);
  void write_at(std::int64_t offset, std::string_view data) {
    write_at(offset, std::as_bytes(std::span(data.data(), data.size())));
  }

  // Bytes written so far (for a ranged writer: the sum of write_at sizes).
  std::int64_t size() const noexcept;

  // Verifies the digest (and the size, when one was expected; a ranged
  // writer hashes the bytes it did not receive in order from its file, and a
  // range never written reads as zeros and fails the digest), fsyncs and
  // renames the blob into place; returns its path. When the blob is already
  // there (another writer won) the temp file is dropped and the existing blob
  // kept. Throws IntegrityError naming the expected digest and what was found
  // (the temp file is removed, nothing becomes visible), InputError on I/O
  // failure. Calling it twice, or after abort(), throws std::logic_error.
  std::filesystem::path commit();

  // Removes the temp file. Idempotent; never throws.
  void abort() noexcept;

 private:
  friend class BlobCache;
  struct Impl;
  explicit BlobWriter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

class BlobCache {
 public:
  // Creates blobs/sha256/, tmp/ and index/ under `root` when missing. Throws
  // InputError when they cannot be created.
  explicit BlobCache(std::filesystem::path root = default_cache_root());

  const std::filesystem::path& root() const noexcept { return root_; }

  // True when the blob is in the cache. Does not count as a use.
  bool contains(const Digest& digest) const;

  // The blob's file, or nullopt when absent; marks it used (mtime = now). The
  // path stays valid until a prune() or verify() (in any process) removes the
  // blob: prefer open() when another process may prune meanwhile.
  std::optional<std::filesystem::path> path(const Digest& digest);

  // Opens the blob for reading, or nullptr when absent; marks it used. The
  // stream stays readable even if the blob is pruned meanwhile. Its bytes are
  // not re-hashed here: wrap it in a BlobReader to verify on the way.
  std::unique_ptr<ByteStream> open(const Digest& digest);

  // Starts writing `digest`. `expected_size` (when known) is checked as bytes
  // arrive and at commit. Throws InputError when no temp file can be created.
  BlobWriter writer(const Digest& digest, std::optional<std::int64_t> expected_size = std::nullopt);

  // Starts writing `digest` of exactly `size` bytes at any offsets
  // (BlobWriter::write_at): the temp file is created at its full size, so
  // parallel ranges land in place. Throws InputError when no temp file can be
  // created or sized (e.g. disk full), or `size` is negative.
  BlobWriter ranged_writer(const Digest& digest, std::int64_t size);

  // Removes one blob, e.g. one a reader found corrupt (its digest did not
  // match); readers holding it open are not disturbed. Returns whether it
  // was there. Throws InputError when it cannot be removed.
  bool remove(const Digest& digest);

  // Reads `in` to the end into a writer and commits it; returns the blob's
  // path. Throws as BlobWriter::write/commit and whatever `in.read` throws
  // (nothing becomes visible then).
  std::filesystem::path put(const Digest& digest, ByteStream& in,
                            std::optional<std::int64_t> expected_size = std::nullopt);

  // Every blob, in digest order. Files under blobs/sha256 whose name is not a
  // digest's hex are ignored.
  std::vector<CacheEntry> list() const;

  // Removes blobs, least recently used first (ties: digest order), until the
  // blobs total at most `max_bytes`; sweeps temps first. Returns what it
  // removed, in removal order.
  std::vector<CacheEntry> prune(std::uint64_t max_bytes);

  // Re-hashes every blob and removes each whose bytes do not match its name;
  // sweeps temps first. Returns what it removed (size: the bytes found).
  std::vector<CacheEntry> verify();

  // Removes temp files that no live writer holds (writers keep an exclusive
  // flock on theirs, so a killed writer's temp is removable at once). On a
  // filesystem without flock, only temps older than kStaleTempAge go. Returns
  // how many were removed.
  std::size_t sweep_temps();

  // Where flock is unavailable, a temp file untouched this long is taken to
  // belong to a dead writer: no single blob write stalls for an hour.
  static constexpr std::chrono::hours kStaleTempAge{1};

 private:
  std::filesystem::path blob_path(const Digest& digest) const;
  std::filesystem::path root_;
};

}  // namespace ecr
