#include "transfer/part_buffer_pool.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace ecr::transfer {

PartBufferPool::PartBufferPool(std::size_t buffers) : total_(buffers) {
  for (std::size_t i = 0; i < buffers; ++i) free_.push_back(std::make_unique<PartBuffer>());
}

PartBufferPool::Lease::~Lease() {
  if (buffer_) pool_->release(std::move(buffer_));
}

PartBufferPool::Lease PartBufferPool::acquire() { return std::move(acquire(1).front()); }

std::vector<PartBufferPool::Lease> PartBufferPool::acquire(std::size_t count) {
  if (count > total_) {
    throw std::invalid_argument("a pool of " + std::to_string(total_) +
                                " part buffers cannot lend " + std::to_string(count) + " at once");
  }
  std::vector<Lease> leases;
  leases.reserve(count);
  std::unique_lock lock(mutex_);
  available_.wait(lock, [&] { return free_.size() >= count; });
  for (std::size_t i = 0; i < count; ++i) {
    leases.emplace_back(*this, std::move(free_.back()));
    free_.pop_back();
  }
  peak_in_use_ = std::max(peak_in_use_, total_ - free_.size());
  return leases;
}

std::size_t PartBufferPool::peak_in_use() const {
  const std::lock_guard lock(mutex_);
  return peak_in_use_;
}

void PartBufferPool::release(std::unique_ptr<PartBuffer> buffer) {
  {
    const std::lock_guard lock(mutex_);
    free_.push_back(std::move(buffer));
  }
  available_.notify_all();
}

}  // namespace ecr::transfer
