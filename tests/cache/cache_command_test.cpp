// `ecr cache ls|prune|verify`: size parsing and what each verb prints.
#include "cache_command.hpp"

#include <gtest/gtest.h>

#include <iostream>
#include <sstream>

#include "cache/cache_test_support.hpp"
#include "ecr/cache.hpp"
#include "usage_error.hpp"

namespace ecr::cli {
namespace {

namespace fs = std::filesystem;
using ecr::testing::instant;
using ecr::testing::kShortReads;
using ecr::testing::ScratchDir;
using ecr::testing::StringStream;

TEST(ParseByteSize, AcceptsPlainBytesAndBinaryUnits) {
  EXPECT_EQ(parse_byte_size("0"), 0u);
  EXPECT_EQ(parse_byte_size("1024"), 1024u);
  EXPECT_EQ(parse_byte_size("1k"), 1024u);
  EXPECT_EQ(parse_byte_size("500M"), 500ull << 20);
  EXPECT_EQ(parse_byte_size("2G"), 2ull << 30);
  EXPECT_EQ(parse_byte_size("3GB"), 3ull << 30);
  EXPECT_EQ(parse_byte_size("64KiB"), 64ull << 10);
  EXPECT_EQ(parse_byte_size("1T"), 1ull << 40);
  EXPECT_EQ(parse_byte_size("7B"), 7u);
}

TEST(ParseByteSize, RefusesWhatIsNotAByteCountNamingTheText) {
  for (const char* bad : {"", "M", "-5", "1.5G", "12X", "5iB", "10 M", "20000000T"}) {
    try {
      parse_byte_size(bad);
      ADD_FAILURE() << "accepted \"" << bad << "\"";
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find(std::string("\"") + bad + "\""), std::string::npos)
          << e.what();
    }
  }
}

// Runs `ecr <args>` through the command tree and returns what it printed.
std::string run(const std::string& args) {
  CLI::App app("ecr");
  add_cache_command(app);
  std::ostringstream captured;
  std::streambuf* old = std::cout.rdbuf(captured.rdbuf());
  try {
    app.parse(args);
  } catch (...) {
    std::cout.rdbuf(old);
    throw;
  }
  std::cout.rdbuf(old);
  return captured.str();
}

class CacheCommandTest : public ::testing::Test {
 protected:
  CacheCommandTest() {
    // 10-byte "aaaa..." used at t=1, 20-byte "bbbb..." at t=2.
    for (int i = 0; i < 2; ++i) {
      const std::string data(static_cast<std::size_t>(10 * (i + 1)), static_cast<char>('a' + i));
      StringStream in(data, kShortReads);
      digests.push_back(Digest::of(data));
      cache.put(digests.back(), in);
      fs::last_write_time(*cache.path(digests.back()), instant(i + 1));
    }
  }
  std::string dir_option() const { return " --cache-dir " + cache.root().string(); }
  ScratchDir dir;
  BlobCache cache{dir.path() / "c"};
  std::vector<Digest> digests;
};

TEST_F(CacheCommandTest, LsPrintsDigestSizeAndLastUsedMostRecentFirstThenATotal) {
  EXPECT_EQ(run("cache ls" + dir_option()),
            digests[1].str() + "  20  2001-09-09T01:46:42Z\n" +  //
                digests[0].str() + "  10  2001-09-09T01:46:41Z\n" + "2 blobs, 30 bytes\n");
}

TEST_F(CacheCommandTest, PruneRemovesLeastRecentlyUsedAndReportsWhatIsKept) {
  EXPECT_EQ(run("cache prune --max-size 25" + dir_option()),
            "removed " + digests[0].str() + "  10  2001-09-09T01:46:41Z\n" +
                "removed 1 blobs (10 bytes); kept 1 blobs (20 bytes)\n");
  EXPECT_FALSE(cache.contains(digests[0]));
  EXPECT_TRUE(cache.contains(digests[1]));
}

TEST_F(CacheCommandTest, PruneWithABadSizeIsAUsageError) {
  EXPECT_THROW(run("cache prune --max-size lots" + dir_option()), UsageError);
  EXPECT_EQ(cache.list().size(), 2u);
}

TEST_F(CacheCommandTest, VerifyPrintsWhatItDropped) {
  ecr::testing::write_file(*cache.path(digests[1]), "corrupted");
  EXPECT_EQ(run("cache verify" + dir_option()),
            "dropped " + digests[1].str() + " (9 bytes): content does not match its digest\n" +
                "1 blobs intact, dropped 1\n");
  EXPECT_FALSE(cache.contains(digests[1]));
}

}  // namespace
}  // namespace ecr::cli
