// ecr-local --throttle: ECR's per-account API rate quotas, enforced with one
// token bucket per operation, so clients meet ThrottlingException ("Rate
// exceeded") here as they do against ECR.
//
// A bucket holds `burst` tokens and gains `rate` per second; a request takes
// one or is refused. It is kept as a generic cell rate algorithm: one atomic
// "theoretical arrival time" per operation, updated by compare-and-swap, so
// the hot UploadLayerPart path takes no lock and the buckets of different
// operations share no cache line.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ecr::server {

// Requests per second each limited operation may make; an operation that is
// not listed is not limited.
using RateTable = std::map<std::string, double, std::less<>>;

// ECR's default rate quotas (Amazon ECR service quotas, "Rate of <Operation>
// requests", per second, per account and Region): the eight operations of
// image push, pull and authentication. ECR publishes no rate for the others.
RateTable ecr_rate_quotas();

// The highest rate a throttle file may give; above it "unlimited" says it
// better, and the bucket arithmetic stays in whole nanoseconds.
inline constexpr double kMaxRate = 1'000'000;

// Reads a throttle file over `base`: one "OPERATION RATE" pair per line,
// RATE a positive number of requests per second (at most kMaxRate) or
// "unlimited" (drops the operation's limit); '#' starts a comment, blank
// lines are skipped. An operation the file does not name keeps its rate in
// `base`. Throws InputError "<file>:<line>: <what is wrong>" for a line that
// is not two words, an operation the ECR service model lacks, a rate that is
// not a number, not positive or too large, and an operation given twice;
// "cannot read throttle file <file>: <reason>" when it cannot be read.
RateTable read_throttle_file(const std::filesystem::path& file, RateTable base);

// One operation's bucket: `burst` tokens, refilled at `rate` per second,
// full at first. Thread-safe and lock-free.
class alignas(64) TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;
  // rate > 0, burst >= 1 (whole requests; a fractional part is dropped).
  TokenBucket(double rate, double burst);

  // Takes a token at `now` when there is one; false when the request must
  // be refused.
  bool try_take(Clock::time_point now) noexcept;

 private:
  // Nanoseconds one token takes to come back.
  std::int64_t interval_ns_;
  // How far the theoretical arrival time may run ahead of now: (burst - 1)
  // intervals.
  std::int64_t tolerance_ns_;
  // When the bucket would next be full again if nothing were taken (in
  // Clock's nanoseconds); at or before now means full.
  std::atomic<std::int64_t> full_at_ns_{std::numeric_limits<std::int64_t>::min()};
};

// The buckets of every limited operation. Built once; admit() is
// thread-safe and looks the operation up without locking.
class Throttle {
 public:
  // Burst = rate (ECR's quotas name one number per operation), at least 1.
  explicit Throttle(const RateTable& rates);

  // True when a request of `operation` may go ahead now (taking a token);
  // always true for an operation without a limit.
  bool admit(std::string_view operation,
             TokenBucket::Clock::time_point now = TokenBucket::Clock::now());

  // The rate `operation` is limited to; 0 when it is not limited.
  double rate(std::string_view operation) const noexcept;

 private:
  struct Limit {
    std::string operation;
    double rate;
    // Aligned to its own cache line: UploadLayerPart's CAS does not slow
    // PutImage's.
    std::unique_ptr<TokenBucket> bucket;
  };
  const Limit* find(std::string_view operation) const noexcept;

  std::vector<Limit> limits_;  // sorted by operation
};

}  // namespace ecr::server
