// BlobCache: storage rules (verify before visible, temp then rename), LRU
// pruning, re-verification, temp sweeping, several writers at once.
#include "ecr/cache.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <thread>
#include <vector>

#include "cache/cache_test_support.hpp"
#include "ecr/error.hpp"

namespace ecr {
namespace {

namespace fs = std::filesystem;
using testing::instant;
using testing::kShortReads;
using testing::read_file;
using testing::read_stream;
using testing::ScratchDir;
using testing::StringStream;

std::size_t count_files(const fs::path& dir) {
  return static_cast<std::size_t>(
      std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

ino_t inode_of(const fs::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return 0;
  return st.st_ino;
}

// Bytes that are not all alike, so a torn or mixed write would show.
std::string mixed_bytes(std::size_t size, char seed) {
  std::string s(size, '\0');
  for (std::size_t i = 0; i < size; ++i)
    s[i] = static_cast<char>(seed + static_cast<char>(i * 31 % 251));
  return s;
}

class BlobCacheTest : public ::testing::Test {
 protected:
  ScratchDir dir;
  BlobCache cache{dir.path() / "cache"};
  fs::path tmp_dir() const { return dir.path() / "cache" / "tmp"; }
  fs::path blob_file(const Digest& d) const {
    return dir.path() / "cache" / "blobs" / "sha256" / std::string(d.hex());
  }
};

TEST_F(BlobCacheTest, PutThenOpenReturnsTheExactBytes) {
  const std::string data = mixed_bytes(100000, 'a');
  const Digest d = Digest::of(data);
  StringStream in(data, 4096);

  const fs::path stored = cache.put(d, in, static_cast<std::int64_t>(data.size()));

  EXPECT_EQ(stored, blob_file(d));
  EXPECT_TRUE(cache.contains(d));
  auto stream = cache.open(d);
  ASSERT_NE(stream, nullptr);
  EXPECT_EQ(read_stream(*stream), data);
  EXPECT_EQ(read_file(*cache.path(d)), data);
  EXPECT_EQ(count_files(tmp_dir()), 0u);
}

TEST_F(BlobCacheTest, AbsentBlobIsNotContainedOpenedOrFound) {
  const Digest d = Digest::of("nothing here");
  EXPECT_FALSE(cache.contains(d));
  EXPECT_EQ(cache.open(d), nullptr);
  EXPECT_EQ(cache.path(d), std::nullopt);
}

TEST_F(BlobCacheTest, WrongDigestIsRefusedNamingTheDigestAndLeavesNothingVisible) {
  const Digest claimed = Digest::of("the bytes we expected");
  StringStream in("other bytes", kShortReads);
  try {
    cache.put(claimed, in);
    FAIL() << "put accepted bytes that do not match the digest";
  } catch (const IntegrityError& e) {
    EXPECT_NE(std::string(e.what()).find(claimed.str()), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(Digest::of("other bytes").str()), std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(cache.contains(claimed));
  EXPECT_EQ(count_files(tmp_dir()), 0u);
}

TEST_F(BlobCacheTest, FewerBytesThanTheExpectedSizeAreRefusedAtCommit) {
  const std::string data = "short blob";
  const Digest d = Digest::of(data);
  StringStream in(data, kShortReads);
  EXPECT_THROW(cache.put(d, in, static_cast<std::int64_t>(data.size()) + 1), IntegrityError);
  EXPECT_FALSE(cache.contains(d));
  EXPECT_EQ(count_files(tmp_dir()), 0u);
}

TEST_F(BlobCacheTest, MoreBytesThanTheExpectedSizeAreRefusedOnWrite) {
  const std::string data = "longer than claimed";
  const Digest d = Digest::of(data);
  BlobWriter w = cache.writer(d, 5);
  EXPECT_THROW(w.write(data), IntegrityError);
  EXPECT_EQ(count_files(tmp_dir()), 0u);
  EXPECT_THROW(w.commit(), std::logic_error);
  EXPECT_FALSE(cache.contains(d));
}

TEST_F(BlobCacheTest, WriterDestroyedWithoutCommitRemovesItsTempFile) {
  const Digest d = Digest::of("abandoned");
  {
    BlobWriter w = cache.writer(d);
    w.write(std::string_view("aband"));
    EXPECT_EQ(count_files(tmp_dir()), 1u);
  }
  EXPECT_EQ(count_files(tmp_dir()), 0u);
  EXPECT_FALSE(cache.contains(d));
}

TEST_F(BlobCacheTest, BlobIsInvisibleUntilCommit) {
  const std::string data = "two halves";
  const Digest d = Digest::of(data);
  BlobWriter w = cache.writer(d, static_cast<std::int64_t>(data.size()));
  w.write(std::string_view(data).substr(0, 4));
  EXPECT_FALSE(cache.contains(d));
  w.write(std::string_view(data).substr(4));
  EXPECT_FALSE(cache.contains(d));
  w.commit();
  EXPECT_TRUE(cache.contains(d));
  EXPECT_EQ(read_file(blob_file(d)), data);
}

TEST_F(BlobCacheTest, ConcurrentWritersOfTheSameBlobFromThreadsAllSucceedLeavingOneValidBlob) {
  const std::string data = mixed_bytes(300000, 'x');
  const Digest d = Digest::of(data);
  constexpr int kWriters = 8;
  std::vector<int> failures(kWriters, 0);
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < kWriters; ++t) {
      threads.emplace_back([&, t] {
        try {
          BlobCache own(cache.root());  // as another engine instance would
          for (int round = 0; round < 5; ++round) {
            StringStream in(data, 8192 + static_cast<std::size_t>(t));
            own.put(d, in, static_cast<std::int64_t>(data.size()));
            auto reader = own.open(d);
            if (!reader || read_stream(*reader) != data) ++failures[static_cast<std::size_t>(t)];
          }
        } catch (...) {
          ++failures[static_cast<std::size_t>(t)];
        }
      });
    }
  }
  EXPECT_EQ(failures, std::vector<int>(kWriters, 0));
  EXPECT_EQ(read_file(blob_file(d)), data);
  EXPECT_EQ(count_files(blob_file(d).parent_path()), 1u);
  EXPECT_EQ(count_files(tmp_dir()), 0u);
}

TEST_F(BlobCacheTest, TwoProcessesWritingTheSameBlobBothSucceedLeavingOneValidBlob) {
  const std::string data = mixed_bytes(500000, 'p');
  const Digest d = Digest::of(data);
  auto write_rounds = [&] {
    BlobCache own(cache.root());
    for (int round = 0; round < 10; ++round) {
      StringStream in(data, 65536);
      own.put(d, in, static_cast<std::int64_t>(data.size()));
    }
  };
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    int status = 0;
    try {
      write_rounds();
    } catch (...) {
      status = 1;
    }
    ::_exit(status);
  }
  EXPECT_NO_THROW(write_rounds());
  int status = -1;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
  EXPECT_EQ(read_file(blob_file(d)), data);
  EXPECT_EQ(count_files(tmp_dir()), 0u);
}

TEST_F(BlobCacheTest, CommitOfABlobAlreadyPresentKeepsTheExistingFile) {
  const std::string data = "same bytes twice";
  const Digest d = Digest::of(data);
  StringStream first(data, kShortReads);
  cache.put(d, first);
  const auto inode_before = inode_of(blob_file(d));
  auto reader = cache.open(d);  // a reader holding the first copy
  StringStream second(data, kShortReads);
  cache.put(d, second);
  EXPECT_EQ(inode_of(blob_file(d)), inode_before);
  EXPECT_EQ(read_stream(*reader), data);
  EXPECT_EQ(count_files(tmp_dir()), 0u);
}

TEST_F(BlobCacheTest, PathAndOpenMarkTheBlobUsed) {
  StringStream a("blob a", kShortReads);
  StringStream b("blob b", kShortReads);
  const Digest da = Digest::of("blob a");
  const Digest db = Digest::of("blob b");
  cache.put(da, a);
  cache.put(db, b);
  fs::last_write_time(blob_file(da), instant(0));
  fs::last_write_time(blob_file(db), instant(0));

  ASSERT_TRUE(cache.path(da));
  ASSERT_NE(cache.open(db), nullptr);

  EXPECT_GT(fs::last_write_time(blob_file(da)), instant(0));
  EXPECT_GT(fs::last_write_time(blob_file(db)), instant(0));
}

TEST_F(BlobCacheTest, ContainsDoesNotMarkTheBlobUsed) {
  StringStream a("blob a", kShortReads);
  const Digest da = Digest::of("blob a");
  cache.put(da, a);
  fs::last_write_time(blob_file(da), instant(0));
  EXPECT_TRUE(cache.contains(da));
  EXPECT_EQ(fs::last_write_time(blob_file(da)), instant(0));
}

TEST_F(BlobCacheTest, ListGivesDigestSizeAndLastUsedInDigestOrder) {
  std::vector<Digest> digests;
  for (std::string data : {"one", "three", "seventeen"}) {
    StringStream in(data, kShortReads);
    digests.push_back(Digest::of(data));
    cache.put(digests.back(), in);
    fs::last_write_time(blob_file(digests.back()), instant(static_cast<int>(data.size())));
  }
  testing::write_file(blob_file(digests[0]).parent_path() / "not-a-digest", "x");

  const std::vector<CacheEntry> entries = cache.list();

  ASSERT_EQ(entries.size(), 3u);
  std::sort(digests.begin(), digests.end());
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(entries[i].digest, digests[i]);
    const auto size = static_cast<int>(entries[i].size);
    EXPECT_EQ(entries[i].last_used,
              std::chrono::system_clock::time_point(std::chrono::seconds(1'000'000'000 + size)));
  }
}

TEST_F(BlobCacheTest, PruneRemovesLeastRecentlyUsedFirstDownToTheLimit) {
  // Four 100-byte blobs last used at t=1..4; then the oldest is used again.
  std::vector<Digest> d;
  for (int i = 0; i < 4; ++i) {
    const std::string data = mixed_bytes(100, static_cast<char>('a' + i));
    StringStream in(data, kShortReads);
    d.push_back(Digest::of(data));
    cache.put(d.back(), in);
    fs::last_write_time(blob_file(d.back()), instant(i + 1));
  }
  ASSERT_TRUE(cache.path(d[0]));

  const std::vector<CacheEntry> removed = cache.prune(250);

  ASSERT_EQ(removed.size(), 2u);
  EXPECT_EQ(removed[0].digest, d[1]);
  EXPECT_EQ(removed[1].digest, d[2]);
  EXPECT_EQ(removed[0].size, 100);
  EXPECT_TRUE(cache.contains(d[0]));
  EXPECT_FALSE(cache.contains(d[1]));
  EXPECT_FALSE(cache.contains(d[2]));
  EXPECT_TRUE(cache.contains(d[3]));
}

TEST_F(BlobCacheTest, PruneToTheCurrentTotalRemovesNothingAndToZeroRemovesAll) {
  for (std::string data : {"aaaa", "bbbbbb"}) {
    StringStream in(data, kShortReads);
    cache.put(Digest::of(data), in);
  }
  EXPECT_TRUE(cache.prune(10).empty());
  EXPECT_EQ(cache.prune(0).size(), 2u);
  EXPECT_TRUE(cache.list().empty());
}

TEST_F(BlobCacheTest, VerifyDropsABlobWhoseBytesWereCorruptedOnDisk) {
  const std::string good = "intact blob";
  const std::string bad = "blob to corrupt";
  StringStream g(good, kShortReads);
  StringStream b(bad, kShortReads);
  cache.put(Digest::of(good), g);
  cache.put(Digest::of(bad), b);
  testing::write_file(blob_file(Digest::of(bad)), "blob to c0rrupt!");

  const std::vector<CacheEntry> dropped = cache.verify();

  ASSERT_EQ(dropped.size(), 1u);
  EXPECT_EQ(dropped[0].digest, Digest::of(bad));
  EXPECT_EQ(dropped[0].size, 16);
  EXPECT_FALSE(cache.contains(Digest::of(bad)));
  EXPECT_TRUE(cache.contains(Digest::of(good)));
}

// verify() hashes entries on several threads: each damaged one is dropped
// and reported once, in list() order, and every intact one stays.
TEST_F(BlobCacheTest, VerifyOfManyBlobsDropsExactlyTheDamagedOnes) {
  std::vector<Digest> damaged;
  std::vector<Digest> intact;
  std::map<Digest, std::int64_t> damaged_size;
  for (int i = 0; i < 40; ++i) {
    const std::string data = "blob number " + std::to_string(i) + std::string(5000, 'x');
    StringStream in(data);
    cache.put(Digest::of(data), in);
    if (i % 3 == 0) {
      testing::write_file(blob_file(Digest::of(data)), data + "!");
      damaged.push_back(Digest::of(data));
      damaged_size[Digest::of(data)] = static_cast<std::int64_t>(data.size()) + 1;
    } else {
      intact.push_back(Digest::of(data));
    }
  }
  std::vector<Digest> listed_damaged;
  for (const CacheEntry& e : cache.list()) {
    if (std::find(damaged.begin(), damaged.end(), e.digest) != damaged.end()) {
      listed_damaged.push_back(e.digest);
    }
  }

  const std::vector<CacheEntry> dropped = cache.verify();

  std::vector<Digest> dropped_digests;
  for (const CacheEntry& e : dropped) {
    dropped_digests.push_back(e.digest);
    EXPECT_EQ(e.size, damaged_size[e.digest]) << e.digest.str();
  }
  EXPECT_EQ(dropped_digests, listed_damaged);
  for (const Digest& d : damaged) EXPECT_FALSE(cache.contains(d)) << d.str();
  for (const Digest& d : intact) EXPECT_TRUE(cache.contains(d)) << d.str();
  EXPECT_TRUE(cache.verify().empty());
}

TEST_F(BlobCacheTest, SweepRemovesAbandonedTempsButNotALiveWritersTemp) {
  const std::string data = "still being written";
  const Digest d = Digest::of(data);
  BlobWriter live = cache.writer(d);
  live.write(std::string_view(data).substr(0, 5));
  testing::write_file(tmp_dir() / "0123456789abcdef.tmp", "left by a crashed writer");

  EXPECT_EQ(cache.sweep_temps(), 1u);

  EXPECT_FALSE(fs::exists(tmp_dir() / "0123456789abcdef.tmp"));
  EXPECT_EQ(count_files(tmp_dir()), 1u);
  live.write(std::string_view(data).substr(5));
  live.commit();
  EXPECT_EQ(read_file(blob_file(d)), data);
}

TEST_F(BlobCacheTest, AKilledWriterProcessLeavesOnlyATempThatSweepRemoves) {
  const std::string data = mixed_bytes(10000, 'k');
  const Digest d = Digest::of(data);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    BlobCache own(cache.root());
    BlobWriter w = own.writer(d);
    w.write(std::string_view(data).substr(0, 5000));
    ::_exit(0);  // dies mid-blob: no destructor, no commit (as SIGKILL would)
  }
  int status = -1;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_FALSE(cache.contains(d));
  EXPECT_EQ(count_files(tmp_dir()), 1u);

  EXPECT_EQ(cache.sweep_temps(), 1u);
  EXPECT_EQ(count_files(tmp_dir()), 0u);
}

// Sets an environment variable for one test and restores it afterwards.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) saved_ = old;
    ::setenv(name, value, 1);
  }
  ~ScopedEnv() {
    if (saved_) {
      ::setenv(name_, saved_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> saved_;
};

TEST(DefaultCacheRoot, IsEcrUnderXdgCacheHome) {
  ScopedEnv xdg("XDG_CACHE_HOME", "/x/cache");
  ScopedEnv home("HOME", "/home/someone");
  EXPECT_EQ(default_cache_root(), fs::path("/x/cache/ecr"));
}

TEST(DefaultCacheRoot, FallsBackToDotCacheUnderHomeWhenXdgCacheHomeIsEmpty) {
  ScopedEnv xdg("XDG_CACHE_HOME", "");
  ScopedEnv home("HOME", "/home/someone");
  EXPECT_EQ(default_cache_root(), fs::path("/home/someone/.cache/ecr"));
}

}  // namespace
}  // namespace ecr
