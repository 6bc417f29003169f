// Runs a list of tasks on a bounded pool and waits for all of them. When one
// fails, tasks that have not started are skipped and the first failure is
// rethrown once every running task has returned (no task outlives the call).
#pragma once

#include <atomic>
#include <exception>
#include <functional>
#include <future>
#include <vector>

#include "core/thread_pool.hpp"

namespace ecr::transfer {

inline void run_all(std::size_t jobs, const std::vector<std::function<void()>>& tasks) {
  if (tasks.empty()) return;
  std::atomic<bool> failed{false};
  std::vector<std::future<void>> futures;
  futures.reserve(tasks.size());
  {
    ThreadPool pool(std::min(jobs, tasks.size()), tasks.size());
    for (const auto& task : tasks) {
      futures.push_back(pool.submit([&task, &failed] {
        if (failed.load()) return;
        try {
          task();
        } catch (...) {
          failed.store(true);
          throw;
        }
      }));
    }
  }  // joins the workers
  std::exception_ptr first;
  for (auto& f : futures) {
    try {
      f.get();
    } catch (...) {
      if (!first) first = std::current_exception();
    }
  }
  if (first) std::rethrow_exception(first);
}

}  // namespace ecr::transfer
