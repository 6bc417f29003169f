// BlobWriter's state, shared by blob_writer.cpp and BlobCache::writer.
#pragma once

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>

#include "cache/file_ops.hpp"
#include "ecr/cache.hpp"
#include "ecr/digest.hpp"

namespace ecr {

struct BlobWriter::Impl {
  Impl(Digest d, std::optional<std::int64_t> size, std::filesystem::path final_path,
       cache::TempFile t)
      : digest(std::move(d)),
        expected_size(size),
        target(std::move(final_path)),
        temp(std::move(t)) {}

  Digest digest;
  std::optional<std::int64_t> expected_size;
  std::filesystem::path target;  // blobs/sha256/<hex>
  cache::TempFile temp;          // tmp/<random>.tmp, flocked while we write
  Sha256 hash;
  std::int64_t written = 0;
  bool done = false;  // committed or aborted

  // Ranged writers (BlobCache::ranged_writer): bytes arrive at any offset
  // from several threads. The bytes from 0 up to `hashed_to` were hashed as
  // they arrived in order; commit() reads the rest back from the file.
  bool ranged = false;
  std::mutex mutex;  // guards hash, hashed_to, rehash, written
  std::int64_t hashed_to = 0;
  bool rehash = false;  // a write landed inside the hashed prefix: hash all again

  // A ranged writer's digest: bytes [hashed_to, size) read back from the temp
  // file (all of them after an overlapping write). Defined in blob_writer.cpp.
  Digest finish_ranged_hash();
};

}  // namespace ecr
