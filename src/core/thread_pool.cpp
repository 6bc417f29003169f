// The pool's queue and workers. Tasks are type-erased by submit() into
// packaged_tasks, so a task's exception lands in its future and never reaches
// run(): a worker survives every task.
#include "core/thread_pool.hpp"

#include <algorithm>

namespace ecr {

ThreadPool::ThreadPool(std::size_t threads, std::size_t max_queue)
    : max_queue_(std::max<std::size_t>(max_queue, 1)) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  workers_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i) workers_.emplace_back([this] { run(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  has_work_.notify_all();
  has_room_.notify_all();
  for (auto& worker : workers_) worker.join();
}

void ThreadPool::enqueue(std::function<void()> job) {
  {
    std::unique_lock lock(mu_);
    // Backpressure: a producer waits here rather than queueing unbounded work
    // (each queued task may pin a part-sized buffer).
    has_room_.wait(lock, [this] { return queue_.size() < max_queue_; });
    queue_.push_back(std::move(job));
  }
  has_work_.notify_one();
}

void ThreadPool::run() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock lock(mu_);
      has_work_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      // Stopping still drains: the destructor promises queued tasks run.
      if (queue_.empty()) return;
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    has_room_.notify_one();
    job();
  }
}

}  // namespace ecr
