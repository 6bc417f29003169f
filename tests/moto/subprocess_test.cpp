// The test support library's child-process and loopback helpers
// (tests/support/subprocess.hpp), which this suite and the CLI suites start
// their servers with.
#include "support/subprocess.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>

namespace ecr::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

ProcessOptions shell(const std::string& script) {
  ProcessOptions options;
  options.argv = {"/bin/sh", "-c", script};
  return options;
}

TEST(Subprocess, ReadLineReturnsStdoutLinesInOrderThenNulloptAtClose) {
  Subprocess child(shell("printf 'first\\nsecond\\nlast'"));

  auto first = child.read_line(seconds(10));
  auto second = child.read_line(seconds(10));
  auto last = child.read_line(seconds(10));
  auto after = child.read_line(seconds(10));

  EXPECT_EQ(first, "first");
  EXPECT_EQ(second, "second");
  EXPECT_EQ(last, "last");
  EXPECT_EQ(after, std::nullopt);
}

TEST(Subprocess, ReadLineTimesOutWhenTheChildWritesNothing) {
  Subprocess child(shell("exec sleep 60"));

  EXPECT_EQ(child.read_line(milliseconds(50)), std::nullopt);
  EXPECT_TRUE(child.running());
}

TEST(Subprocess, EnvironmentAdditionsOverrideAndRemovalsUnset) {
  ::setenv("ECR_SUBPROCESS_TEST_REMOVED", "still here", 1);
  ProcessOptions options =
      shell("echo \"$ECR_SUBPROCESS_TEST_ADDED|${ECR_SUBPROCESS_TEST_REMOVED-unset}\"");
  options.env = {{"ECR_SUBPROCESS_TEST_ADDED", "added"},
                 {"ECR_SUBPROCESS_TEST_REMOVED", std::nullopt}};
  Subprocess child(options);

  EXPECT_EQ(child.read_line(seconds(10)), "added|unset");
  ::unsetenv("ECR_SUBPROCESS_TEST_REMOVED");
}

TEST(Subprocess, WithoutStdoutCaptureBothStreamsGoToTheStderrFile) {
  std::string path = ::testing::TempDir() + "subprocess_test_stderr.log";
  ProcessOptions options = shell("echo out; echo err >&2");
  options.stderr_path = path;
  options.capture_stdout = false;
  Subprocess child(options);
  ASSERT_EQ(child.wait(seconds(10)), 0);

  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::remove(path.c_str());

  EXPECT_EQ(text, "out\nerr\n");
  EXPECT_EQ(child.read_line(milliseconds(0)), std::nullopt);
}

TEST(Subprocess, TerminateStopsAChildThatHandlesSigtermAndReportsTheSignal) {
  Subprocess child(shell("exec sleep 60"));

  int status = child.terminate(seconds(10));

  EXPECT_EQ(status, 128 + SIGTERM);
  EXPECT_FALSE(child.running());
}

TEST(Subprocess, TerminateKillsAChildThatIgnoresSigtermAfterTheGracePeriod) {
  // The shell ignores TERM and says so; its `sleep` child (same process
  // group) would die of the group's TERM, so the loop keeps the shell alive.
  Subprocess child(shell("trap '' TERM; echo ready; while :; do sleep 1; done"));
  ASSERT_EQ(child.read_line(seconds(10)), "ready");

  int status = child.terminate(milliseconds(200));

  EXPECT_EQ(status, 128 + SIGKILL);
}

TEST(Subprocess, TerminateAlsoEndsTheChildsOwnChildren) {
  Subprocess child(shell("sleep 60 & echo $!; wait"));
  auto grandchild = child.read_line(seconds(10));
  ASSERT_TRUE(grandchild.has_value());
  // A pidfd turns readable when its process exits, child of ours or not.
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, std::stoi(*grandchild), 0));
  ASSERT_GE(pidfd, 0) << std::strerror(errno);

  child.terminate(seconds(10));

  pollfd p{pidfd, POLLIN, 0};
  int ready = ::poll(&p, 1, 10'000);
  ::close(pidfd);
  EXPECT_EQ(ready, 1) << "sleep " << *grandchild << " survived terminate()";
}

TEST(Subprocess, WaitReturnsTheExitCodeOfAChildThatExitsByItself) {
  Subprocess child(shell("exit 7"));

  EXPECT_EQ(child.wait(seconds(10)), 7);
  EXPECT_EQ(child.exit_status(), 7);
}

TEST(Subprocess, StartingAMissingProgramThrowsNamingIt) {
  ProcessOptions options;
  options.argv = {"ecr-no-such-program-here"};

  try {
    Subprocess child(options);
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "program not found on PATH: ecr-no-such-program-here");
  }
}

TEST(RunProcess, CapturesStdoutStderrAndExitCodeAndFeedsStdin) {
  ProcessResult result =
      run_process(shell("tr a-z A-Z; echo oops >&2; exit 3"), seconds(10), "hello\n");

  EXPECT_EQ(result.stdout_text, "HELLO\n");
  EXPECT_EQ(result.stderr_text, "oops\n");
  EXPECT_EQ(result.exit_status, 3);
}

TEST(RunProcess, SurvivesAChildThatNeverReadsItsStdin) {
  std::string big(1 << 20, 'x');

  ProcessResult result = run_process(shell("exec 0<&-; echo done"), seconds(10), big);

  EXPECT_EQ(result.stdout_text, "done\n");
  EXPECT_EQ(result.exit_status, 0);
}

TEST(RunProcess, ThrowsAndKillsAChildThatOutlivesTheTimeout) {
  EXPECT_THROW(run_process(shell("exec sleep 60"), milliseconds(100)), std::runtime_error);
}

TEST(FreeLoopbackPort, ReturnsAPortThatCanBeBound) {
  int port = free_loopback_port();

  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  int rc = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::close(fd);

  EXPECT_GT(port, 0);
  EXPECT_EQ(rc, 0);
}

TEST(WaitForHttp, GivesUpAtTheDeadlineWhenNothingListens) {
  int port = free_loopback_port();

  EXPECT_FALSE(wait_for_http("127.0.0.1", port, milliseconds(100)));
}

}  // namespace
}  // namespace ecr::testing
