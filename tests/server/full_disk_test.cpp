// ecr-local's own files on a full disk, below the HTTP layer: a server key
// that cannot be written leaves no empty or short key file behind (which
// every later start would refuse), and an upload part that does not fit
// leaves its session's file as it was. The disk is a small tmpfs mounted in
// the test's scratch directory (root only; tests/server/full_disk_test.py
// covers the server end to end).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "ecr/error.hpp"
#include "server/blob_store.hpp"
#include "server/server_key.hpp"
#include "support/scratch_dir.hpp"
#include "support/small_disk.hpp"

namespace ecr::server {
namespace {

namespace fs = std::filesystem;

constexpr const char* kNoSpace = "No space left on device";

std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

class ServerFullDisk : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) {
      GTEST_SKIP() << "mounting a tmpfs needs root (euid " << ::geteuid()
                   << "); CI runs these as root";
    }
    scratch_.emplace("ecr-server-full-disk");
    if (const auto error = disk_.mount(scratch_->path() / "disk", 8)) FAIL() << *error;
  }

  void fill(std::int64_t leave) {
    ASSERT_TRUE(disk_.fill(leave))
        << "cannot fill " << disk_.path() << ": " << std::strerror(errno);
  }

  std::optional<testing::ScratchDir> scratch_;
  testing::SmallDisk disk_;  // after scratch_: unmounted before the directory goes
};

TEST_F(ServerFullDisk, KeyThatCannotBeWrittenLeavesNoKeyFile) {
  const fs::path key = disk_.path() / "download-url.key";
  fill(0);

  try {
    load_server_key(key);
    FAIL() << "a key was written on a full disk";
  } catch (const ServiceError& e) {
    EXPECT_EQ(e.name(), "ServerException");
    const std::string message = e.message();
    EXPECT_EQ(message.rfind("cannot write " + key.string() + ".tmp-", 0), 0u) << message;
    EXPECT_TRUE(message.ends_with(std::string(": ") + kNoSpace)) << message;
  }
  EXPECT_EQ(names_in(disk_.path()), std::vector<std::string>{"filler"});

  disk_.unfill();
  const std::string created = load_server_key(key);
  EXPECT_EQ(created.size(), 32u);
  // A restart on a full disk reads the key it has, and writes nothing.
  fill(0);
  EXPECT_EQ(load_server_key(key), created);
  EXPECT_EQ(names_in(disk_.path()), (std::vector<std::string>{"download-url.key", "filler"}));
}

TEST_F(ServerFullDisk, PartThatDoesNotFitLeavesTheUploadFileAsAcknowledged) {
  const BlobStore store(disk_.path() / "root");
  const std::string id = "0123abcd-0000-4000-8000-00000000beef";
  const std::string first(1 << 20, 'a');
  store.write_part(id, 0, first);
  fill(1 << 20);
  const std::string second(3 << 20, 'b');

  try {
    store.write_part(id, first.size(), second);
    FAIL() << "3 MiB fit into 1 MiB";
  } catch (const ServiceError& e) {
    EXPECT_EQ(e.name(), "ServerException");
    EXPECT_EQ(e.message(), "blob store: cannot write " +
                               (disk_.path() / "root" / "uploads" / id).string() + ": " + kNoSpace);
  }
  EXPECT_EQ(fs::file_size(disk_.path() / "root" / "uploads" / id), first.size());

  disk_.unfill();
  store.write_part(id, first.size(), second);
  EXPECT_EQ(fs::file_size(disk_.path() / "root" / "uploads" / id), first.size() + second.size());
  EXPECT_EQ(store.commit_upload(id, first.size() + second.size(), Digest::of(first + second)),
            std::nullopt);
  EXPECT_TRUE(store.contains(Digest::of(first + second)));
}

}  // namespace
}  // namespace ecr::server
