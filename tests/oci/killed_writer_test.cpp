// What a process killed while writing a destination leaves next to it: a
// child process starts writing and ends with _exit (no destructor runs, as
// under kill -9); the next writer of the same target cleans up after it,
// and never touches a live writer's files.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <string>

#include "oci/file_io.hpp"
#include "oci/tar_writer.hpp"

namespace ecr::oci {
namespace {

namespace fs = std::filesystem;

class KilledWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string dir_template = (fs::temp_directory_path() / "ecr-killed-writer-XXXXXX").string();
    ASSERT_NE(::mkdtemp(dir_template.data()), nullptr);
    dir_ = dir_template;
    target_ = dir_ / "image";
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Runs `work` in a child, which ends it with die(): no destructor runs.
  template <class F>
  void in_killed_child(F work) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      work();
      ::_exit(1);  // work() did not die()
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    ASSERT_EQ(WEXITSTATUS(status), 0);
  }
  static void die() { ::_exit(0); }
  std::set<std::string> names() const {
    std::set<std::string> out;
    for (const auto& e : fs::directory_iterator(dir_)) out.insert(e.path().filename().string());
    return out;
  }

  fs::path dir_, target_;
};

TEST_F(KilledWriterTest, TheNextStagingDirRemovesAKilledOnesDirectory) {
  in_killed_child([&] {
    StagingDir staging(target_);
    std::ofstream(staging.path() / "partial-blob") << "half of it";
    die();
  });
  ASSERT_EQ(names().size(), 1u);  // what the killed writer left
  const StagingDir next(target_);
  EXPECT_EQ(names(), std::set<std::string>{next.path().filename().string()});
}

TEST_F(KilledWriterTest, ALiveStagingDirIsLeftAlone) {
  const StagingDir live(target_);
  std::ofstream(live.path() / "blob") << "being written";
  const StagingDir next(target_);
  EXPECT_TRUE(fs::exists(live.path() / "blob"));
  EXPECT_EQ(names(), (std::set<std::string>{live.path().filename().string(),
                                            next.path().filename().string()}));
}

TEST_F(KilledWriterTest, OnlyStagingDirsOfTheSameTargetGo) {
  const std::set<std::string> others = {
      "image.tmp-short",      // not a staging name
      "other.tmp-abcdefgh",   // another target's
      "image.tmp-abcdefgh1",  // longer suffix
  };
  for (const auto& name : others) fs::create_directory(dir_ / name);
  std::ofstream(dir_ / "image.tmp-filefile") << "a file, not a directory";
  const StagingDir next(target_);
  std::set<std::string> want = others;
  want.insert("image.tmp-filefile");
  want.insert(next.path().filename().string());
  EXPECT_EQ(names(), want);
}

TEST_F(KilledWriterTest, AKilledTarWriterLeavesNothing) {
  in_killed_child([&] {
    TarWriter tar(target_);
    tar.add_bytes("a", std::string(100000, 'x'));
    die();
  });
  EXPECT_TRUE(names().empty());
}

}  // namespace
}  // namespace ecr::oci
