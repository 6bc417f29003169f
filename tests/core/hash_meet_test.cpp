// HashMeet (core/hash_meet.hpp): whoever meets whom, and whatever the
// pieces, every lane ends with the digest of exactly its own bytes; two
// threads arriving together are hashed together, and a lone stream never
// waits.
#include "core/hash_meet.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace ecr {
namespace {

using std::chrono::microseconds;

std::string meet_bytes(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

// Long enough that a test waiting on it would hit ctest's timeout.
constexpr HashMeet::Timing kForever{microseconds(600'000'000), microseconds(600'000'000)};

void wait_until_waiting(const HashMeet& meet) {
  while (!meet.has_waiting()) std::this_thread::yield();
}

TEST(HashMeet, ASecondLaneArrivingTakesTheWaitingOnesBytesAlong) {
  HashMeet meet(kForever);
  const std::string x = meet_bytes(1 << 20, 1);
  const std::string y = meet_bytes(700001, 2);
  Sha256Lane a;
  Sha256Lane b;
  // `b` was fed a moment ago, so `a` arriving expects a partner and waits.
  meet.update(b, y.data(), 1);
  std::thread first([&] { meet.update(a, x.data(), x.size()); });
  wait_until_waiting(meet);
  meet.update(b, y.data() + 1, y.size() - 1);
  first.join();
  EXPECT_FALSE(meet.has_waiting());
  EXPECT_EQ(a.finish(), Digest::of(x));
  EXPECT_EQ(b.finish(), Digest::of(y));
  const HashMeet::Counts counts = meet.counts();
  EXPECT_EQ(counts.alone_bytes, 1u);
  EXPECT_EQ(counts.paired_bytes, x.size() + y.size() - 1);
}

TEST(HashMeet, ALoneStreamNeverWaits) {
  HashMeet meet(kForever);
  const std::string x = meet_bytes(3 << 20, 3);
  Sha256Lane a;
  for (std::size_t at = 0; at < x.size(); at += 65536) meet.update(a, x.data() + at, 65536);
  EXPECT_EQ(a.finish(), Digest::of(x));
  EXPECT_EQ(meet.counts().paired_bytes, 0u);
  EXPECT_EQ(meet.counts().alone_bytes, x.size());
}

// Another lane was fed recently but never comes back: the wait ends after
// the patience and the bytes are hashed alone.
TEST(HashMeet, APartnerThatNeverComesCostsOnlyThePatience) {
  HashMeet meet({microseconds(2000), microseconds(600'000'000)});
  const std::string x = meet_bytes(100000, 4);
  const std::string y = meet_bytes(10, 5);
  Sha256Lane a;
  Sha256Lane b;
  meet.update(b, y.data(), y.size());
  meet.update(a, x.data(), x.size());
  EXPECT_FALSE(meet.has_waiting());
  EXPECT_EQ(a.finish(), Digest::of(x));
  EXPECT_EQ(b.finish(), Digest::of(y));
  EXPECT_EQ(meet.counts().paired_bytes, 0u);
}

TEST(HashMeet, EmptyPiecesChangeNothing) {
  HashMeet meet(kForever);
  Sha256Lane a;
  Sha256Lane b;
  meet.update(b, "x", 1);
  meet.update(a, nullptr, 0);  // would wait forever if it counted as an arrival
  EXPECT_FALSE(meet.has_waiting());
  EXPECT_EQ(a.finish().str(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

// Four threads, each feeding its lanes (SHA-NI and OpenSSL, several in turn)
// pieces of uneven sizes, meet in every order the scheduler makes.
TEST(HashMeet, ManyThreadsAndUnevenPiecesGiveEachLaneItsOwnDigest) {
  HashMeet meet({microseconds(200), microseconds(5000)});
  constexpr int kThreads = 4;
  constexpr int kLanesEach = 3;
  std::vector<std::string> data;
  for (int i = 0; i < kThreads * kLanesEach; ++i) {
    data.push_back(meet_bytes(200000 + static_cast<std::size_t>(i) * 7919, 10 + i));
  }
  std::vector<std::optional<Digest>> got(data.size());
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(static_cast<std::uint32_t>(t));
      for (int l = 0; l < kLanesEach; ++l) {
        const std::size_t i = static_cast<std::size_t>(t * kLanesEach + l);
        Sha256Lane lane(l % 2 == 0 ? Sha256Lane::Engine::kBest : Sha256Lane::Engine::kOpenSsl);
        const std::string& d = data[i];
        for (std::size_t at = 0; at < d.size();) {
          const std::size_t take = std::min<std::size_t>(rng() % 20000, d.size() - at);
          meet.update(lane, d.data() + at, take);
          at += take;
        }
        got[i] = lane.finish();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (std::size_t i = 0; i < data.size(); ++i) EXPECT_EQ(got[i], Digest::of(data[i])) << i;
  std::uint64_t total = 0;
  for (const auto& d : data) total += d.size();
  const HashMeet::Counts counts = meet.counts();
  EXPECT_EQ(counts.paired_bytes + counts.alone_bytes, total);
}

}  // namespace
}  // namespace ecr
