#include "core/hash_meet.hpp"

namespace ecr {

HashMeet& HashMeet::shared() {
  static HashMeet meet;
  return meet;
}

bool HashMeet::other_lane_recent(const Sha256Lane* lane, Clock::time_point now) {
  const bool recent = lane != last_lane_ ? last_lane_ != nullptr && now - last_at_ < timing_.recent
                                         : now - other_at_ < timing_.recent;
  if (lane != last_lane_) {
    other_at_ = last_at_;
    last_lane_ = lane;
  }
  last_at_ = now;
  return recent;
}

void HashMeet::update(Sha256Lane& lane, const void* data, std::size_t size) {
  if (size == 0) return;
  std::unique_lock lock(mutex_);
  const bool partner_likely = other_lane_recent(&lane, Clock::now());
  if (waiting_ != nullptr && waiting_->lane != &lane) {
    Waiting* partner = waiting_;
    waiting_ = nullptr;
    partner->taken = true;
    lock.unlock();
    update_pair(*partner->lane, partner->data, partner->size, lane, data, size);
    lock.lock();
    partner->done = true;
    counts_.paired_bytes += partner->size + size;
    lock.unlock();
    met_.notify_all();
    return;
  }
  // Without SHA-NI update_pair() feeds one lane after the other: nothing to
  // wait for.
  if (waiting_ == nullptr && partner_likely && Sha256Lane::interleaves()) {
    Waiting me{&lane, data, size};
    waiting_ = &me;
    met_.wait_for(lock, timing_.patience, [&] { return me.taken; });
    if (me.taken) {
      met_.wait(lock, [&] { return me.done; });
      return;
    }
    waiting_ = nullptr;
  }
  counts_.alone_bytes += size;
  lock.unlock();
  lane.update(data, size);
}

HashMeet::Counts HashMeet::counts() const {
  const std::lock_guard lock(mutex_);
  return counts_;
}

void HashMeet::add_counts(const Counts& more) {
  const std::lock_guard lock(mutex_);
  counts_.paired_bytes += more.paired_bytes;
  counts_.alone_bytes += more.alone_bytes;
}

bool HashMeet::has_waiting() const {
  const std::lock_guard lock(mutex_);
  return waiting_ != nullptr;
}

}  // namespace ecr
