// A bounded pool of worker threads for CPU work (hashing, compression,
// encoding). Tasks queue when all workers are busy; submit() blocks when the
// queue holds `max_queue` tasks, so producers cannot run ahead of memory.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

namespace ecr {

class ThreadPool {
 public:
  // threads == 0 means std::thread::hardware_concurrency() (at least 1).
  explicit ThreadPool(std::size_t threads = 0, std::size_t max_queue = 1024);
  // Finishes queued tasks, then joins the workers.
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Runs `fn` on a worker; the future carries its result or exception.
  template <class F>
  auto submit(F fn) -> std::future<decltype(fn())> {
    using R = decltype(fn());
    auto task = std::make_shared<std::packaged_task<R()>>(std::move(fn));
    std::future<R> result = task->get_future();
    enqueue([task] { (*task)(); });
    return result;
  }

  std::size_t size() const noexcept { return workers_.size(); }

 private:
  void enqueue(std::function<void()> job);
  void run();

  std::mutex mu_;
  std::condition_variable has_work_;
  std::condition_variable has_room_;
  std::deque<std::function<void()>> queue_;
  std::size_t max_queue_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace ecr
