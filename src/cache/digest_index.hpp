// Push's digest index: what an uncompressed layer of a source file
// compresses to, remembered in the cache directory's index/ (docs/cache.md).
// Private to the library: the transfer uses it, users see its effect only.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "ecr/digest.hpp"

namespace ecr {

// The identity of a source file as the digest index sees it: a file whose
// device, inode, size, mtime or path changed is a different file. `subkey`
// names what was derived from it ("" for the file itself; e.g.
// "member blobs/sha256/ab..", "gzip level 6 of layer.tar").
struct SourceFileKey {
  std::filesystem::path path;  // absolute, lexically normal
  std::uint64_t device = 0;
  std::uint64_t inode = 0;
  std::int64_t size = 0;
  std::int64_t mtime_ns = 0;
  std::string subkey;

  // Stats `file` (following symlinks) now. Take the key BEFORE reading the
  // file: a change during the read then moves its mtime past the key, and the
  // entry recorded with the old key misses later. Throws InputError when the
  // file cannot be stat'ed.
  static SourceFileKey of(const std::filesystem::path& file, std::string subkey = {});

  friend bool operator==(const SourceFileKey&, const SourceFileKey&) = default;
};

// What the index remembers about a source file: the digest and size of the
// bytes derived from it, and one free-form string (e.g. a layer's diff_id).
struct IndexedDigest {
  Digest digest;
  std::int64_t size = 0;
  std::string extra;

  friend bool operator==(const IndexedDigest&, const IndexedDigest&) = default;
};

// Push's memory of work done: "this file (or this part of it, or this
// compression of it) hashes to digest D of size S". One small file per
// (path, subkey) under <root>/index/, named by a SHA-256 of them and replaced
// atomically, so a changed file overwrites its old entry. Safe across threads
// and processes (last writer wins; readers see a whole entry or none).
class DigestIndex {
 public:
  // Uses <cache_root>/index, creating it when missing (InputError if it
  // cannot be).
  explicit DigestIndex(const std::filesystem::path& cache_root);

  // The recorded value when an entry exists for key.path and key.subkey and its
  // device, inode, size and mtime equal the key's; nullopt otherwise (also for
  // an unreadable or malformed entry). Never throws for a missing entry.
  std::optional<IndexedDigest> lookup(const SourceFileKey& key) const;

  // Records (replacing any older entry for the same path and subkey). Throws
  // InputError on I/O failure.
  void record(const SourceFileKey& key, const IndexedDigest& value);

 private:
  std::filesystem::path entry_path(const SourceFileKey& key) const;
  std::filesystem::path dir_;
};

}  // namespace ecr
