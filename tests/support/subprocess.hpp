// Child processes and loopback ports for tests that drive real programs
// (moto_server, ecr-local, the CLIs).
//
// A Subprocess owns one child: it starts it in its own process group, kills
// the whole group (SIGTERM, then SIGKILL after a grace period) and reaps it,
// so a failing test leaves neither a running server nor a zombie behind. The
// child also gets SIGTERM when the thread that started it exits (Linux
// PR_SET_PDEATHSIG), which covers a test binary killed by a ctest timeout:
// start long-lived children from the test's own thread, never from a worker
// thread that ends first.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ecr::testing {

struct ProcessOptions {
  // argv[0] is looked up on PATH (of the child's environment) unless it holds a '/'.
  std::vector<std::string> argv;
  // Changes to the environment: a value sets the variable, std::nullopt removes it.
  std::map<std::string, std::optional<std::string>> env;
  // false: the child starts from an empty environment plus `env`.
  bool inherit_env = true;
  // Where the child's stderr goes: this file (created or truncated), or the
  // test's own stderr when empty. Subprocess only; run_process captures it.
  std::string stderr_path;
  // Working directory of the child; the test's own when empty.
  std::string working_dir;
  // false: the child's stdout goes where its stderr goes, and read_line()
  // has nothing to read. For chatty servers whose output nobody reads.
  // Subprocess only; run_process always captures.
  bool capture_stdout = true;
};

// A running child whose stdout is a pipe the test reads. A child that writes
// more than the pipe holds (64 KiB on Linux) without the test reading blocks:
// long-running servers should log to stderr (and stderr_path).
class Subprocess {
 public:
  // Starts the child. Throws std::runtime_error when argv is empty or the
  // program cannot be started (not found, not executable); the message says
  // which program and why.
  explicit Subprocess(const ProcessOptions& options);
  // terminate() with the default grace period.
  ~Subprocess();
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  pid_t pid() const noexcept { return pid_; }

  // The next line the child wrote to stdout, without its '\n'; std::nullopt
  // when no full line came within `timeout` or stdout closed first (a last
  // line without '\n' is returned at close).
  std::optional<std::string> read_line(std::chrono::milliseconds timeout);

  // True while the child has not exited (reaps it when it has).
  bool running();

  // Waits up to `timeout` for the child to exit on its own; returns its exit
  // status as exit_status() describes, or std::nullopt when it still runs.
  std::optional<int> wait(std::chrono::milliseconds timeout);

  // Sends SIGTERM to the child's process group, waits up to `grace`, then
  // sends SIGKILL; reaps the child. Idempotent. Returns exit_status().
  int terminate(std::chrono::milliseconds grace = std::chrono::seconds(5));

  // How the child ended: its exit code, or 128 + signal number when a signal
  // ended it (as a shell reports it); -1 while it runs.
  int exit_status() const noexcept { return status_; }

 private:
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string buffered_;  // bytes read from stdout past the last line returned
  int status_ = -1;
};

struct ProcessResult {
  int exit_status = -1;  // as Subprocess::exit_status()
  std::string stdout_text;
  std::string stderr_text;
  // The child's peak resident set size in bytes (ru_maxrss from wait4; a
  // grandchild the child waited for counts when it peaked higher).
  std::int64_t peak_rss_bytes = -1;
};

// Runs a program to completion, feeding it `stdin_data` and capturing stdout
// and stderr (options.stderr_path is ignored). Throws std::runtime_error when
// it cannot start, or when it has not exited within `timeout` (it is killed
// first; the message holds what it wrote so far).
ProcessResult run_process(const ProcessOptions& options, std::chrono::milliseconds timeout,
                          std::string_view stdin_data = {});

// A TCP port on 127.0.0.1 that was free a moment ago: the kernel picks it for
// a socket bound to port 0, which is then closed. Another process may take it
// before the caller binds it; servers that can bind port 0 and report it are
// better. Throws std::runtime_error when no socket can be bound.
int free_loopback_port();

// Polls host:port (an IPv4 literal such as "127.0.0.1") until something
// accepts a connection and answers "GET / HTTP/1.0" with an HTTP status line,
// for at most `timeout`. Returns whether it did. Throws std::invalid_argument
// when host is not an IPv4 literal.
bool wait_for_http(const std::string& host, int port, std::chrono::milliseconds timeout);

// Sends one HTTP/1.0 request without a body (e.g. "POST", "/moto-api/reset")
// and returns the response's status code, or std::nullopt when no status line
// came back within `timeout`. Throws std::invalid_argument as wait_for_http.
std::optional<int> http_status(const std::string& host, int port, const std::string& method,
                               const std::string& path, std::chrono::milliseconds timeout);

}  // namespace ecr::testing
