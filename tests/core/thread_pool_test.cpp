#include "core/thread_pool.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <stdexcept>
#include <string>
#include <vector>

namespace ecr {
namespace {

TEST(ThreadPool, ReturnsResultsThroughFutures) {
  ThreadPool pool(2);
  EXPECT_EQ(pool.size(), 2u);
  std::vector<std::future<int>> results;
  for (int i = 0; i < 100; ++i) results.push_back(pool.submit([i] { return i * i; }));
  for (int i = 0; i < 100; ++i) EXPECT_EQ(results[i].get(), i * i);
}

TEST(ThreadPool, ZeroThreadsMeansHardwareConcurrency) {
  ThreadPool pool(0);
  EXPECT_EQ(pool.size(), std::max(1u, std::thread::hardware_concurrency()));
}

TEST(ThreadPool, ExceptionsTravelInTheFutureAndWorkersSurvive) {
  ThreadPool pool(1);
  auto failing = pool.submit([]() -> int { throw std::invalid_argument("bad part"); });
  auto after = pool.submit([] { return std::string("still running"); });
  try {
    failing.get();
    FAIL() << "expected an exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "bad part");
  }
  EXPECT_EQ(after.get(), "still running");
}

TEST(ThreadPool, VoidTasks) {
  ThreadPool pool(2);
  std::atomic<int> sum = 0;
  std::vector<std::future<void>> done;
  for (int i = 1; i <= 10; ++i) done.push_back(pool.submit([&sum, i] { sum += i; }));
  for (auto& f : done) f.get();
  EXPECT_EQ(sum.load(), 55);
}

// With one worker blocked and a queue of 2, a third queued task makes submit()
// wait until the worker frees a slot.
TEST(ThreadPool, SubmitBlocksWhenQueueIsFull) {
  ThreadPool pool(1, 2);
  std::latch started(1);
  std::latch release(1);
  auto blocker = pool.submit([&] {
    started.count_down();
    release.wait();
    return 0;
  });
  started.wait();  // the worker holds the blocker; the queue is empty
  auto q1 = pool.submit([] { return 1; });
  auto q2 = pool.submit([] { return 2; });  // queue now full

  std::atomic<bool> third_submitted = false;
  std::latch producing(1);
  std::thread producer([&] {
    producing.count_down();
    auto q3 = pool.submit([] { return 3; });
    third_submitted = true;
    EXPECT_EQ(q3.get(), 3);
  });
  producing.wait();
  // Always holds for a bounded pool: the producer cannot return from submit()
  // while the only worker is held by `blocker` and both queue slots are taken.
  // An unbounded pool fails it when the running producer gets there first;
  // blocking itself cannot be observed without a timeout, which tests avoid.
  EXPECT_FALSE(third_submitted.load());
  release.count_down();
  producer.join();
  EXPECT_TRUE(third_submitted.load());
  EXPECT_EQ(blocker.get(), 0);
  EXPECT_EQ(q1.get(), 1);
  EXPECT_EQ(q2.get(), 2);
}

TEST(ThreadPool, DestructorRunsQueuedTasksBeforeJoining) {
  std::atomic<int> ran = 0;
  std::vector<std::future<void>> futures;
  {
    ThreadPool pool(1, 64);
    std::latch release(1);
    futures.push_back(pool.submit([&] { release.wait(); }));
    for (int i = 0; i < 50; ++i) futures.push_back(pool.submit([&] { ++ran; }));
    release.count_down();
  }
  EXPECT_EQ(ran.load(), 50);
  for (auto& f : futures) {
    EXPECT_EQ(f.wait_for(std::chrono::seconds(0)), std::future_status::ready);
  }
}

}  // namespace
}  // namespace ecr
