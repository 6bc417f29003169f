#include "server/request_scratch.hpp"

namespace ecr::server {

ScratchPool::Lease ScratchPool::lease() {
  {
    std::lock_guard lock(mu_);
    if (!kept_.empty()) {
      auto scratch = std::move(kept_.back());
      kept_.pop_back();
      // Nothing of the last request's part may pass for this one's.
      scratch->intake.clear();
      return Lease(*this, std::move(scratch));
    }
  }
  return Lease(*this, std::make_unique<RequestScratch>());
}

void ScratchPool::give_back(std::unique_ptr<RequestScratch> scratch) noexcept {
  if (!scratch) return;
  scratch->body.clear();
  // What the request took from the registry goes now, not at the next lease.
  scratch->intake.clear();
  std::lock_guard lock(mu_);
  if (kept_.size() < kKept) {
    // Within the capacity reserved up front: never allocates.
    kept_.push_back(std::move(scratch));
  }
}

}  // namespace ecr::server
