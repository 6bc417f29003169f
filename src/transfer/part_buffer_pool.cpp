#include "transfer/part_buffer_pool.hpp"

namespace ecr::transfer {

PartBufferPool::PartBufferPool(std::size_t buffers) : total_(buffers) {
  for (std::size_t i = 0; i < buffers; ++i) free_.push_back(std::make_unique<PartBuffer>());
}

PartBufferPool::Lease::~Lease() {
  if (buffer_) pool_->release(std::move(buffer_));
}

PartBufferPool::Lease PartBufferPool::acquire() {
  std::unique_lock lock(mutex_);
  available_.wait(lock, [&] { return !free_.empty(); });
  std::unique_ptr<PartBuffer> buffer = std::move(free_.back());
  free_.pop_back();
  return Lease(*this, std::move(buffer));
}

void PartBufferPool::release(std::unique_ptr<PartBuffer> buffer) {
  {
    const std::lock_guard lock(mutex_);
    free_.push_back(std::move(buffer));
  }
  available_.notify_one();
}

}  // namespace ecr::transfer
