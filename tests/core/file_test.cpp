#include "core/file.hpp"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/blob_commit.hpp"
#include "ecr/error.hpp"

namespace ecr {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;

bool is_open(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void write_file(const fs::path& path, std::string_view contents) {
  std::ofstream(path, std::ios::binary) << contents;
}

std::span<const std::byte> bytes_of(std::string_view s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

class FileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "ecr-file-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::vector<std::string> names_in_dir() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir_)) names.push_back(e.path().filename());
    std::sort(names.begin(), names.end());
    return names;
  }

  fs::path dir_;
};

TEST(UniqueFd, ClosesExactlyOnceWhenMoved) {
  int raw = -1;
  {
    UniqueFd first(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    raw = first.get();
    ASSERT_GE(raw, 0);
    UniqueFd second(std::move(first));
    // NOLINTNEXTLINE(bugprone-use-after-move): the moved-from state is the contract
    EXPECT_FALSE(first.valid());
    UniqueFd third;
    third = std::move(second);
    EXPECT_FALSE(second.valid());  // NOLINT(bugprone-use-after-move)
    EXPECT_EQ(third.get(), raw);
    // `first` and `second` are destroyed below without closing anything.
    first = UniqueFd();
    second.reset();
    EXPECT_TRUE(is_open(raw));
  }
  EXPECT_FALSE(is_open(raw));
}

TEST(UniqueFd, MoveAssignmentClosesTheDescriptorItHeld) {
  UniqueFd held(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  const int old = held.get();
  UniqueFd incoming(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  const int kept = incoming.get();
  held = std::move(incoming);
  EXPECT_FALSE(is_open(old));
  EXPECT_TRUE(is_open(kept));
  EXPECT_EQ(held.get(), kept);
}

TEST(UniqueFd, ReleaseHandsTheDescriptorToTheCaller) {
  int raw = -1;
  {
    UniqueFd fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    raw = fd.release();
    EXPECT_FALSE(fd.valid());
  }
  EXPECT_TRUE(is_open(raw));
  ::close(raw);
}

TEST_F(FileTest, OpenedDescriptorsAreClosedOnExec) {
  write_file(dir_ / "f", "x");
  const UniqueFd fd = open_file(dir_ / "f", O_RDONLY);
  EXPECT_TRUE(::fcntl(fd.get(), F_GETFD) & FD_CLOEXEC);
  const TempFile temp(dir_ / "g");
  EXPECT_TRUE(::fcntl(temp.fd(), F_GETFD) & FD_CLOEXEC);
}

TEST_F(FileTest, OpenFailureNamesThePathAndTheReason) {
  EXPECT_THAT([&] { open_file(dir_ / "missing", O_RDONLY); },
              ::testing::ThrowsMessage<InputError>(
                  AllOf(HasSubstr((dir_ / "missing").string()), HasSubstr(std::strerror(ENOENT)))));
}

TEST_F(FileTest, OpenIfExistsGivesNoDescriptorForAMissingFile) {
  EXPECT_FALSE(open_if_exists(dir_ / "missing").valid());
}

TEST_F(FileTest, OpenRegularFileRefusesAFifo) {
  ASSERT_EQ(::mkfifo((dir_ / "fifo").c_str(), 0600), 0);
  EXPECT_THAT([&] { open_regular_file(dir_ / "fifo"); },
              ::testing::ThrowsMessage<InputError>(HasSubstr("is not a regular file")));
}

TEST_F(FileTest, WritesAndReadsAtOffsets) {
  TempFile temp(dir_ / "f");
  write_all_at(temp.fd(), bytes_of("world"), 6, temp.path());
  write_all_at(temp.fd(), bytes_of("hello "), 0, temp.path());
  std::string back(11, '\0');
  const std::size_t n =
      read_some_at(temp.fd(), std::as_writable_bytes(std::span(back)), 0, temp.path());
  EXPECT_EQ(n, 11u);
  EXPECT_EQ(back, "hello world");
  EXPECT_EQ(file_size(temp.fd(), temp.path()), 11);
}

// Bigger than one 256 KiB read, so the hash spans several, and read from
// byte 0 whatever the descriptor's position.
TEST_F(FileTest, HashFileHashesFromByteZeroUpToItsLimit) {
  std::string contents(600 * 1024 + 7, '\0');
  for (std::size_t i = 0; i < contents.size(); ++i) contents[i] = static_cast<char>(i * 31 % 251);
  const fs::path path = dir_ / "blob";
  write_file(path, contents);
  const UniqueFd fd = open_regular_file(path);
  ASSERT_EQ(::lseek(fd.get(), 1000, SEEK_SET), 1000);

  const FileDigest whole = hash_file(fd.get(), path);
  EXPECT_EQ(whole.digest, Digest::of(contents));
  EXPECT_EQ(whole.size, static_cast<std::int64_t>(contents.size()));

  const FileDigest prefix = hash_file(fd.get(), path, 300 * 1024);
  EXPECT_EQ(prefix.digest, Digest::of(std::string_view(contents).substr(0, 300 * 1024)));
  EXPECT_EQ(prefix.size, 300 * 1024);

  // A limit past the end: the whole file, and its true size.
  const FileDigest past = hash_file(fd.get(), path, 1 << 30);
  EXPECT_EQ(past.digest, whole.digest);
  EXPECT_EQ(past.size, whole.size);

  EXPECT_EQ(hash_file(fd.get(), path, 0).digest, Digest::of(""));
}

TEST_F(FileTest, TempFileIsCreatedNextToItsFinalPath) {
  const TempFile temp(dir_ / "blob");
  EXPECT_EQ(temp.path().parent_path(), dir_);
  EXPECT_TRUE(temp.path().filename().string().starts_with("blob.tmp-"));
  EXPECT_TRUE(fs::exists(temp.path()));
}

TEST_F(FileTest, TempFileNotCommittedIsRemoved) {
  fs::path path;
  {
    TempFile temp(dir_ / "blob");
    temp.write("half of it");
    path = temp.path();
  }
  EXPECT_FALSE(fs::exists(path));
  EXPECT_TRUE(names_in_dir().empty());
}

TEST_F(FileTest, UnnamedTempFileHasNoNameUntilCommitted) {
  UnnamedTempFile temp(dir_ / "archive");
  write_all(temp.fd(), bytes_of("the whole archive"), temp.path());
  EXPECT_TRUE(names_in_dir().empty());

  temp.commit(dir_ / "archive");

  EXPECT_EQ(names_in_dir(), std::vector<std::string>{"archive"});
  EXPECT_EQ(read_file(dir_ / "archive"), "the whole archive");
}

TEST_F(FileTest, UnnamedTempFileReplacesAnExistingFileAtCommit) {
  write_file(dir_ / "archive", "the archive from before");
  UnnamedTempFile temp(dir_ / "archive");
  write_all(temp.fd(), bytes_of("the new one"), temp.path());
  EXPECT_EQ(read_file(dir_ / "archive"), "the archive from before");

  temp.commit(dir_ / "archive");

  EXPECT_EQ(names_in_dir(), std::vector<std::string>{"archive"});
  EXPECT_EQ(read_file(dir_ / "archive"), "the new one");
}

TEST_F(FileTest, UnnamedTempFileNotCommittedLeavesNothing) {
  {
    UnnamedTempFile temp(dir_ / "archive");
    write_all(temp.fd(), bytes_of("half of it"), temp.path());
  }
  EXPECT_TRUE(names_in_dir().empty());
}

TEST_F(FileTest, TempFileIsRemovedWhenAnExceptionUnwindsPastIt) {
  EXPECT_THROW(
      {
        TempFile temp(dir_ / "blob");
        temp.write("half of it");
        throw std::runtime_error("the download broke off");
      },
      std::runtime_error);
  EXPECT_TRUE(names_in_dir().empty());
}

TEST_F(FileTest, CommittedTempFileHoldsItsBytesAndSurvives) {
  {
    TempFile temp(dir_ / "blob");
    temp.write("all of it");
    temp.commit(dir_ / "blob");
  }
  EXPECT_EQ(read_file(dir_ / "blob"), "all of it");
  EXPECT_EQ(names_in_dir(), std::vector<std::string>{"blob"});
}

TEST_F(FileTest, MovedTempFileIsRemovedOnceByItsLastOwner) {
  fs::path path;
  {
    TempFile first(dir_ / "blob");
    path = first.path();
    TempFile second(std::move(first));
    EXPECT_TRUE(fs::exists(path));
    TempFile third(dir_ / "other");
    third = std::move(second);  // removes "other.tmp-*"
    EXPECT_TRUE(fs::exists(path));
    EXPECT_EQ(names_in_dir().size(), 1u);
  }
  EXPECT_TRUE(names_in_dir().empty());
}

TEST_F(FileTest, LockedTempFileIsHeldUnderFlockUntilCommitted) {
  TempFile temp = TempFile::create_locked(dir_, ".tmp");
  EXPECT_EQ(temp.path().extension(), ".tmp");
  const UniqueFd other = open_file(temp.path(), O_RDONLY);
  EXPECT_NE(::flock(other.get(), LOCK_EX | LOCK_NB), 0);
  temp.commit(dir_ / "done");
  EXPECT_EQ(::flock(other.get(), LOCK_EX | LOCK_NB), 0);
}

TEST_F(FileTest, AtomicWriteReplacesAnExistingFile) {
  write_file(dir_ / "index.json", "old");
  write_file_atomically(dir_ / "index.json", "new and longer");
  EXPECT_EQ(read_file(dir_ / "index.json"), "new and longer");
  EXPECT_EQ(names_in_dir(), std::vector<std::string>{"index.json"});
}

TEST_F(FileTest, AtomicWriteCreatesAPrivateFileWithThatMode) {
  TempFile temp(dir_ / "secret", 0600);
  struct stat st {};
  ASSERT_EQ(::fstat(temp.fd(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  temp.remove();

  write_file_atomically(dir_ / "secret", "token", 0600);
  ASSERT_EQ(::stat((dir_ / "secret").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(FileTest, FailedAtomicWriteLeavesNoPartialFile) {
  // A non-empty directory in the way makes the final rename fail.
  fs::create_directory(dir_ / "index.json");
  write_file(dir_ / "index.json" / "inside", "untouched");
  EXPECT_THROW(write_file_atomically(dir_ / "index.json", "new"), InputError);
  EXPECT_EQ(names_in_dir(), std::vector<std::string>{"index.json"});
  EXPECT_EQ(read_file(dir_ / "index.json" / "inside"), "untouched");
}

TEST_F(FileTest, CommittedBlobIsRenamedIntoPlace) {
  const Digest digest = Digest::of("layer");
  TempFile temp(dir_ / "blob");
  temp.write("layer");
  EXPECT_EQ(commit_blob(temp, digest, Digest::of("layer"), 5, dir_ / "blob"), BlobCommit::kPlaced);
  EXPECT_EQ(read_file(dir_ / "blob"), "layer");
  EXPECT_EQ(names_in_dir(), std::vector<std::string>{"blob"});
}

TEST_F(FileTest, BlobAlreadyPresentIsKeptAndTheTempFileRemoved) {
  write_file(dir_ / "blob", "layer");
  struct stat before {};
  ASSERT_EQ(::stat((dir_ / "blob").c_str(), &before), 0);
  TempFile temp(dir_ / "blob");
  temp.write("layer");
  EXPECT_EQ(commit_blob(temp, Digest::of("layer"), Digest::of("layer"), 5, dir_ / "blob"),
            BlobCommit::kAlreadyPresent);
  struct stat after {};
  ASSERT_EQ(::stat((dir_ / "blob").c_str(), &after), 0);
  EXPECT_EQ(after.st_ino, before.st_ino);  // readers holding the old file keep it
  EXPECT_EQ(names_in_dir(), std::vector<std::string>{"blob"});
}

TEST_F(FileTest, BlobWithTheWrongDigestIsRefusedAndNeverVisible) {
  {
    TempFile temp(dir_ / "blob");
    temp.write("other bytes");
    EXPECT_THAT(
        [&] {
          commit_blob(temp, Digest::of("layer"), Digest::of("other bytes"), 11, dir_ / "blob");
        },
        ::testing::ThrowsMessage<IntegrityError>(AllOf(
            HasSubstr(Digest::of("layer").str()), HasSubstr(Digest::of("other bytes").str()))));
  }
  EXPECT_TRUE(names_in_dir().empty());
}

}  // namespace
}  // namespace ecr
