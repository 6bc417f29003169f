// Sha256Lane and update_pair (core/sha256_lanes.hpp): every way of feeding a
// lane, alone or beside another, gives OpenSSL's digest of the same bytes.
#include "core/sha256_lanes.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace ecr {
namespace {

std::string bytes(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

// Each test runs with both engines: SHA-NI (where the CPU has it; else both
// are OpenSSL) and OpenSSL, the fallback.
class Sha256LaneTest : public ::testing::TestWithParam<Sha256Lane::Engine> {};

INSTANTIATE_TEST_SUITE_P(Engines, Sha256LaneTest,
                         ::testing::Values(Sha256Lane::Engine::kBest, Sha256Lane::Engine::kOpenSsl),
                         [](const auto& engine) {
                           return engine.param == Sha256Lane::Engine::kBest ? "Best" : "OpenSsl";
                         });

TEST_P(Sha256LaneTest, KnownAnswers) {
  Sha256Lane lane(GetParam());
  lane.update("abc", 3);
  EXPECT_EQ(lane.finish().str(),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // finish() reset the lane: the empty string's digest.
  EXPECT_EQ(lane.size(), 0u);
  EXPECT_EQ(lane.finish().str(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

// Lengths around the block (64) and the padding's edge (55/56), fed whole
// and in uneven pieces.
TEST_P(Sha256LaneTest, MatchesOpenSslAtEveryLengthAndSplit) {
  const std::string data = bytes(100003, 1);
  std::vector<std::size_t> lengths;
  for (std::size_t n = 0; n <= 200; ++n) lengths.push_back(n);
  for (std::size_t n : {511, 512, 513, 4096, 65535, 100003}) lengths.push_back(n);
  for (const std::size_t n : lengths) {
    const std::string_view whole = std::string_view(data).substr(0, n);
    const Digest expected = Digest::of(whole);
    Sha256Lane at_once(GetParam());
    at_once.update(whole.data(), whole.size());
    EXPECT_EQ(at_once.size(), n);
    EXPECT_EQ(at_once.finish(), expected) << n;
    Sha256Lane pieces(GetParam());
    std::size_t at = 0;
    for (std::size_t step = 1; at < n; step = step * 7 % 97 + 1) {
      const std::size_t take = std::min(step, n - at);
      pieces.update(whole.data() + at, take);
      at += take;
    }
    EXPECT_EQ(pieces.finish(), expected) << n;
  }
}

// Two lanes fed together: pieces of unequal lengths, lanes holding part of a
// block from before, one lane running out first.
TEST_P(Sha256LaneTest, APairGivesEachLaneItsOwnDigest) {
  const std::string x = bytes(300000, 2);
  const std::string y = bytes(300000, 3);
  const std::vector<std::pair<std::size_t, std::size_t>> steps = {
      {0, 0},       {1, 0},         {0, 5},     {63, 64},   {64, 64},     {65, 1},
      {4096, 4000}, {65536, 65536}, {10, 9000}, {9000, 10}, {100000, 99}, {127, 129}};
  Sha256Lane a(GetParam());
  Sha256Lane b(GetParam());
  std::size_t xa = 0;
  std::size_t yb = 0;
  for (const auto& [nx, ny] : steps) {
    update_pair(a, x.data() + xa, nx, b, y.data() + yb, ny);
    xa += nx;
    yb += ny;
  }
  EXPECT_EQ(a.size(), xa);
  EXPECT_EQ(b.size(), yb);
  EXPECT_EQ(a.finish(), Digest::of(std::string_view(x).substr(0, xa)));
  EXPECT_EQ(b.finish(), Digest::of(std::string_view(y).substr(0, yb)));
}

TEST_P(Sha256LaneTest, APairMayMixWithSingleUpdates) {
  const std::string x = bytes(50000, 4);
  const std::string y = bytes(50000, 5);
  Sha256Lane a(GetParam());
  Sha256Lane b(GetParam());
  a.update(x.data(), 17);
  update_pair(a, x.data() + 17, 20000, b, y.data(), 20031);
  b.update(y.data() + 20031, 29969);
  update_pair(a, x.data() + 20017, 29983, b, y.data(), 0);
  EXPECT_EQ(a.finish(), Digest::of(x));
  EXPECT_EQ(b.finish(), Digest::of(y));
}

// A SHA-NI lane beside an OpenSSL one (the fallback takes the pair).
TEST(Sha256Lane, APairOfDifferentEnginesGivesEachItsDigest) {
  const std::string x = bytes(70000, 6);
  const std::string y = bytes(60001, 7);
  Sha256Lane a;
  Sha256Lane b(Sha256Lane::Engine::kOpenSsl);
  update_pair(a, x.data(), x.size(), b, y.data(), y.size());
  EXPECT_EQ(a.finish(), Digest::of(x));
  EXPECT_EQ(b.finish(), Digest::of(y));
}

}  // namespace
}  // namespace ecr
