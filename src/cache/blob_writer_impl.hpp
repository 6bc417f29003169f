// BlobWriter's state, shared by blob_writer.cpp and BlobCache::writer.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>

#include "core/file.hpp"
#include "core/in_order_hasher.hpp"
#include "ecr/cache.hpp"
#include "ecr/digest.hpp"

namespace ecr {

struct BlobWriter::Impl {
  Impl(Digest d, std::optional<std::int64_t> size, std::filesystem::path final_path, TempFile t)
      : digest(std::move(d)),
        expected_size(size),
        target(std::move(final_path)),
        temp(std::move(t)) {}

  Digest digest;
  std::optional<std::int64_t> expected_size;
  std::filesystem::path target;  // blobs/sha256/<hex>
  TempFile temp;                 // tmp/<random>.tmp, flocked while we write
  Sha256 hash;
  std::int64_t written = 0;
  bool done = false;  // committed or aborted

  // Ranged writers (BlobCache::ranged_writer): bytes arrive at any offset
  // from several threads and are hashed in file order as far as they reach
  // (InOrderHasher); commit() reads back the rest.
  std::optional<InOrderHasher> ranged;
  std::mutex mutex;  // guards written for a ranged writer
  // Held around a ranged writer's pwrite: its ranges' writers take turns
  // here, sleeping, rather than spinning on the file's inode lock
  // (core/file.hpp, write_all_at).
  std::mutex write_turn;
  // A ranged writer's pages, dropped behind its hashed frontier.
  DropBehind dropped{0};
};

}  // namespace ecr
