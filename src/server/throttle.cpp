#include "server/throttle.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>
#include <system_error>

#include "api/model_table.hpp"
#include "core/text.hpp"
#include "ecr/error.hpp"

namespace ecr::server {

RateTable ecr_rate_quotas() {
  // Amazon ECR User Guide, "Amazon ECR service quotas": the default rate of
  // each API action involved in image push, pull and authentication, per
  // second, per account and Region.
  return {
      {"BatchCheckLayerAvailability", 1000},
      {"BatchGetImage", 2000},
      {"CompleteLayerUpload", 100},
      {"GetAuthorizationToken", 500},
      {"GetDownloadUrlForLayer", 3000},
      {"InitiateLayerUpload", 100},
      {"PutImage", 10},
      {"UploadLayerPart", 500},
  };
}

namespace {

// The whitespace-separated words of `line`.
std::vector<std::string_view> words_of(std::string_view line) {
  std::vector<std::string_view> words;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    const std::size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) words.push_back(line.substr(start, i - start));
  }
  return words;
}

}  // namespace

RateTable read_throttle_file(const std::filesystem::path& file, RateTable base) {
  std::ifstream in(file);
  if (!in) {
    std::error_code ec(errno, std::generic_category());
    throw InputError("cannot read throttle file " + file.string() + ": " + ec.message());
  }
  std::map<std::string, int, std::less<>> seen_on;  // operation -> line
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    const std::string where = file.string() + ":" + std::to_string(number) + ": ";
    std::string_view text = line;
    if (const auto hash = text.find('#'); hash != std::string_view::npos) {
      text = text.substr(0, hash);
    }
    text = ecr::text::trim(text, " \t\r");
    if (text.empty()) continue;
    const std::vector<std::string_view> words = words_of(text);
    if (words.size() != 2) {
      throw InputError(where + "expected \"OPERATION RATE\" (e.g. \"PutImage 10\"), found \"" +
                       std::string(text) + "\"");
    }
    const std::string operation(words[0]);
    const std::string_view rate_text = words[1];
    if (api::model::find_operation(operation) == nullptr) {
      throw InputError(where + "unknown operation \"" + operation +
                       "\" (not an operation of the ECR API)");
    }
    if (const auto it = seen_on.find(operation); it != seen_on.end()) {
      throw InputError(where + operation + " is already given on line " +
                       std::to_string(it->second));
    }
    seen_on.emplace(operation, number);
    if (rate_text == "unlimited") {
      base.erase(operation);
      continue;
    }
    double rate = 0;
    const auto [end, error] =
        std::from_chars(rate_text.data(), rate_text.data() + rate_text.size(), rate);
    if (error != std::errc() || end != rate_text.data() + rate_text.size() ||
        !std::isfinite(rate)) {
      throw InputError(where + "the rate of " + operation +
                       " must be a number of requests per second or \"unlimited\", found \"" +
                       std::string(rate_text) + "\"");
    }
    if (rate <= 0) {
      throw InputError(where + "the rate of " + operation + " must be positive, found \"" +
                       std::string(rate_text) + "\"");
    }
    if (rate > kMaxRate) {
      throw InputError(where + "the rate of " + operation +
                       " must be at most 1000000 (or \"unlimited\"), found \"" +
                       std::string(rate_text) + "\"");
    }
    base[operation] = rate;
  }
  if (in.bad()) {
    throw InputError("cannot read throttle file " + file.string());
  }
  return base;
}

TokenBucket::TokenBucket(double rate, double burst)
    : interval_ns_(std::max<std::int64_t>(1, std::llround(1e9 / rate))),
      tolerance_ns_(static_cast<std::int64_t>(std::floor(std::max(burst, 1.0)) - 1) *
                    interval_ns_) {}

bool TokenBucket::try_take(Clock::time_point now) noexcept {
  const std::int64_t t =
      std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
  std::int64_t full_at = full_at_ns_.load(std::memory_order_relaxed);
  for (;;) {
    // Taking a token moves the moment the bucket is full again one interval
    // later; with more than `burst` tokens outstanding that moment lies more
    // than the tolerance ahead, and the request is refused.
    const std::int64_t from = std::max(full_at, t);
    if (from - t > tolerance_ns_) return false;
    if (full_at_ns_.compare_exchange_weak(full_at, from + interval_ns_,
                                          std::memory_order_relaxed)) {
      return true;
    }
  }
}

Throttle::Throttle(const RateTable& rates) {
  limits_.reserve(rates.size());
  for (const auto& [operation, rate] : rates) {  // a std::map: already sorted
    limits_.push_back({operation, rate, std::make_unique<TokenBucket>(rate, rate)});
  }
}

const Throttle::Limit* Throttle::find(std::string_view operation) const noexcept {
  const auto it = std::lower_bound(
      limits_.begin(), limits_.end(), operation,
      [](const Limit& limit, std::string_view name) { return limit.operation < name; });
  return it != limits_.end() && it->operation == operation ? &*it : nullptr;
}

bool Throttle::admit(std::string_view operation, TokenBucket::Clock::time_point now) {
  const Limit* limit = find(operation);
  return limit == nullptr || limit->bucket->try_take(now);
}

double Throttle::rate(std::string_view operation) const noexcept {
  const Limit* limit = find(operation);
  return limit == nullptr ? 0 : limit->rate;
}

}  // namespace ecr::server
