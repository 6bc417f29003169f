// A fixed number of part buffers shared by all uploads of a push, as
// aws-c-s3's buffer pool does: memory is bounded by (buffers x part size)
// whatever the image size, and a buffer's capacity is reused from part to
// part and layer to layer instead of being allocated per part.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace ecr::transfer {

// One part's bytes, for a blob that streams (layer_upload.hpp): a blob read
// from a file leaves its buffers untouched, each only standing for a part
// in flight.
struct PartBuffer {
  std::string raw;
};

class PartBufferPool {
 public:
  explicit PartBufferPool(std::size_t buffers);

  // Returns its buffer to the pool when destroyed.
  class Lease {
   public:
    Lease(PartBufferPool& pool, std::unique_ptr<PartBuffer> buffer)
        : pool_(&pool), buffer_(std::move(buffer)) {}
    ~Lease();
    Lease(Lease&& other) noexcept = default;
    Lease& operator=(Lease&&) = delete;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    PartBuffer& operator*() const noexcept { return *buffer_; }
    PartBuffer* operator->() const noexcept { return buffer_.get(); }

   private:
    PartBufferPool* pool_;
    std::unique_ptr<PartBuffer> buffer_;
  };

  // Blocks until a buffer is free.
  Lease acquire();
  // Blocks until `count` buffers are free and takes them together, so uploads
  // that each need several never deadlock holding some of them. Throws
  // std::invalid_argument when the pool has fewer than `count` buffers.
  std::vector<Lease> acquire(std::size_t count);

  std::size_t size() const noexcept { return total_; }
  // The most buffers ever leased at once (what the pool's memory peaked at).
  std::size_t peak_in_use() const;

 private:
  void release(std::unique_ptr<PartBuffer> buffer);

  mutable std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<PartBuffer>> free_;
  std::size_t total_;
  std::size_t peak_in_use_ = 0;
};

}  // namespace ecr::transfer
