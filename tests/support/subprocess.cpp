#include "support/subprocess.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <stdexcept>
#include <thread>
#include <utility>

extern char** environ;

namespace ecr::testing {
namespace {

using Clock = std::chrono::steady_clock;

// Owns one file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

[[noreturn]] void throw_errno(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

std::pair<Fd, Fd> make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno("pipe2");
  return {Fd(fds[0]), Fd(fds[1])};
}

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::max<std::int64_t>(0, left.count()));
}

std::vector<std::string> child_environment(const ProcessOptions& options) {
  std::map<std::string, std::string> vars;
  if (options.inherit_env) {
    for (char** entry = environ; *entry != nullptr; ++entry) {
      std::string_view text(*entry);
      auto eq = text.find('=');
      if (eq == std::string_view::npos) continue;
      vars[std::string(text.substr(0, eq))] = std::string(text.substr(eq + 1));
    }
  }
  for (const auto& [name, value] : options.env) {
    if (value) {
      vars[name] = *value;
    } else {
      vars.erase(name);
    }
  }
  std::vector<std::string> out;
  out.reserve(vars.size());
  for (const auto& [name, value] : vars) out.push_back(name + "=" + value);
  return out;
}

// Resolves argv[0] the way execvp does, but before fork(): the child may only
// make async-signal-safe calls, and a missing program is best reported here.
std::string find_program(const std::string& name, const std::vector<std::string>& env) {
  if (name.find('/') != std::string::npos) {
    if (::access(name.c_str(), X_OK) != 0) throw_errno("cannot execute " + name);
    return name;
  }
  std::string path = "/usr/local/bin:/usr/bin:/bin";
  for (const auto& entry : env) {
    if (entry.rfind("PATH=", 0) == 0) path = entry.substr(5);
  }
  std::size_t start = 0;
  while (start <= path.size()) {
    auto end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string dir = path.substr(start, end - start);
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  throw std::runtime_error("program not found on PATH: " + name);
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Starts the child with the given descriptors as its stdin/stdout/stderr
// (-1 for stderr: inherited). The child leads its own process group.
pid_t spawn(const ProcessOptions& options, int in_fd, int out_fd, int err_fd) {
  if (options.argv.empty()) throw std::runtime_error("ProcessOptions::argv is empty");
  std::vector<std::string> env = child_environment(options);
  std::string program = find_program(options.argv[0], env);
  std::vector<std::string> args = options.argv;
  std::vector<char*> argv = c_strings(args);
  std::vector<char*> envp = c_strings(env);
  const char* dir = options.working_dir.empty() ? nullptr : options.working_dir.c_str();
  // The child reports a failed exec through this pipe; a successful exec closes it.
  auto [status_read, status_write] = make_pipe();
  const pid_t parent = ::getpid();

  pid_t pid = ::fork();
  if (pid < 0) throw_errno("fork");
  if (pid == 0) {
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(127);  // the parent died before prctl
    ::signal(SIGPIPE, SIG_DFL);
    int err = 0;
    if (::dup2(in_fd, STDIN_FILENO) < 0 || ::dup2(out_fd, STDOUT_FILENO) < 0 ||
        (err_fd >= 0 && ::dup2(err_fd, STDERR_FILENO) < 0) || (dir && ::chdir(dir) != 0)) {
      err = errno;
    } else {
      ::execve(program.c_str(), argv.data(), envp.data());
      err = errno;
    }
    ssize_t ignored = ::write(status_write.get(), &err, sizeof err);
    (void)ignored;
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // also done by the child; whichever runs first wins
  status_write.reset();
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(status_read.get(), &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  if (n > 0) {
    ::waitpid(pid, nullptr, 0);
    errno = child_errno;
    throw_errno("cannot start " + program);
  }
  return pid;
}

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// Waits up to `timeout` for `pid` to exit without reaping it, so its process
// group id stays reserved until the group has been killed.
bool wait_exited(pid_t pid, std::chrono::milliseconds timeout) {
  auto exited = [pid] {
    siginfo_t info{};
    return ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
           info.si_pid == pid;
  };
  if (exited()) return true;
  Fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (pidfd.get() >= 0) {
    pollfd p{pidfd.get(), POLLIN, 0};
    int rc;
    do {
      rc = ::poll(&p, 1, static_cast<int>(timeout.count()));
    } while (rc < 0 && errno == EINTR);
    return rc > 0 || exited();
  }
  // Kernels without pidfd_open (before 5.3): poll the status.
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (exited()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return exited();
}

// Kills what is left of the process group, then reaps the leader, filling
// `usage` (when given) with the leader's resource usage.
int kill_group_and_reap(pid_t pid, rusage* usage = nullptr) {
  ::kill(-pid, SIGKILL);
  int status = 0;
  pid_t rc;
  do {
    rc = ::wait4(pid, &status, 0, usage);
  } while (rc < 0 && errno == EINTR);
  return rc == pid ? decode_status(status) : -1;
}

int terminate_group(pid_t pid, std::chrono::milliseconds grace) {
  ::kill(-pid, SIGTERM);
  wait_exited(pid, grace);
  return kill_group_and_reap(pid);
}

}  // namespace

Subprocess::Subprocess(const ProcessOptions& options) {
  Fd null_in(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (null_in.get() < 0) throw_errno("open /dev/null");
  Fd err_file;
  if (!options.stderr_path.empty()) {
    err_file =
        Fd(::open(options.stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (err_file.get() < 0) throw_errno("open " + options.stderr_path);
  }
  if (!options.capture_stdout) {
    int out = err_file.get() >= 0 ? err_file.get() : STDERR_FILENO;
    pid_ = spawn(options, null_in.get(), out, err_file.get());
    return;
  }
  auto [out_read, out_write] = make_pipe();
  pid_ = spawn(options, null_in.get(), out_write.get(), err_file.get());
  stdout_fd_ = out_read.release();
}

Subprocess::~Subprocess() {
  terminate();
  if (stdout_fd_ >= 0) ::close(stdout_fd_);
}

std::optional<std::string> Subprocess::read_line(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    auto newline = buffered_.find('\n');
    if (newline != std::string::npos) {
      std::string line = buffered_.substr(0, newline);
      buffered_.erase(0, newline + 1);
      return line;
    }
    if (stdout_fd_ < 0) break;
    pollfd p{stdout_fd_, POLLIN, 0};
    int rc = ::poll(&p, 1, remaining_ms(deadline));
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0) return std::nullopt;  // timed out
    char chunk[4096];
    ssize_t n = ::read(stdout_fd_, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(stdout_fd_);
      stdout_fd_ = -1;
      break;
    }
    buffered_.append(chunk, static_cast<std::size_t>(n));
  }
  if (buffered_.empty()) return std::nullopt;
  return std::exchange(buffered_, {});
}

bool Subprocess::running() {
  if (status_ >= 0 || pid_ < 0) return false;
  if (!wait_exited(pid_, std::chrono::milliseconds(0))) return true;
  status_ = kill_group_and_reap(pid_);
  return false;
}

std::optional<int> Subprocess::wait(std::chrono::milliseconds timeout) {
  if (status_ < 0 && pid_ >= 0) {
    if (!wait_exited(pid_, timeout)) return std::nullopt;
    status_ = kill_group_and_reap(pid_);
  }
  return status_;
}

int Subprocess::terminate(std::chrono::milliseconds grace) {
  if (status_ < 0 && pid_ >= 0) status_ = terminate_group(pid_, grace);
  return status_;
}

ProcessResult run_process(const ProcessOptions& options, std::chrono::milliseconds timeout,
                          std::string_view stdin_data) {
  // stdin is a socket so that writing to a child that never reads it fails
  // with EPIPE (send with MSG_NOSIGNAL) instead of raising SIGPIPE here.
  int in_pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in_pair) != 0) {
    throw_errno("socketpair");
  }
  Fd in_ours(in_pair[0]);
  Fd in_child(in_pair[1]);
  auto [out_read, out_write] = make_pipe();
  auto [err_read, err_write] = make_pipe();
  pid_t pid = spawn(options, in_child.get(), out_write.get(), err_write.get());
  in_child.reset();
  out_write.reset();
  err_write.reset();
  if (stdin_data.empty()) in_ours.reset();
  if (in_ours.get() >= 0) ::fcntl(in_ours.get(), F_SETFL, O_NONBLOCK);

  ProcessResult result;
  auto deadline = Clock::now() + timeout;
  std::size_t written = 0;
  while (out_read.get() >= 0 || err_read.get() >= 0) {
    pollfd fds[3] = {
        {out_read.get(), POLLIN, 0}, {err_read.get(), POLLIN, 0}, {in_ours.get(), POLLOUT, 0}};
    int rc = ::poll(fds, 3, remaining_ms(deadline));
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0) {
      terminate_group(pid, std::chrono::milliseconds(0));
      throw std::runtime_error(
          "'" + options.argv[0] + "' still ran after " + std::to_string(timeout.count()) +
          " ms; stdout: " + result.stdout_text + "; stderr: " + result.stderr_text);
    }
    Fd* readers[2] = {&out_read, &err_read};
    std::string* sinks[2] = {&result.stdout_text, &result.stderr_text};
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char chunk[4096];
      ssize_t n = ::read(fds[i].fd, chunk, sizeof chunk);
      if (n > 0) {
        sinks[i]->append(chunk, static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        readers[i]->reset();
      }
    }
    if (fds[2].fd >= 0 && fds[2].revents != 0) {
      ssize_t n = ::send(in_ours.get(), stdin_data.data() + written, stdin_data.size() - written,
                         MSG_NOSIGNAL);
      if (n > 0) written += static_cast<std::size_t>(n);
      if ((n < 0 && errno != EAGAIN && errno != EINTR) || written == stdin_data.size()) {
        in_ours.reset();  // all sent, or the child stopped reading: it sees EOF
      }
    }
  }
  if (!wait_exited(pid, std::chrono::milliseconds(remaining_ms(deadline)))) {
    terminate_group(pid, std::chrono::milliseconds(0));
    throw std::runtime_error("'" + options.argv[0] +
                             "' closed its output but did not exit within " +
                             std::to_string(timeout.count()) + " ms");
  }
  rusage usage{};
  result.exit_status = kill_group_and_reap(pid, &usage);
  result.peak_rss_bytes = static_cast<std::int64_t>(usage.ru_maxrss) * 1024;  // Linux: KiB
  return result;
}

int free_loopback_port() {
  Fd sock(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (sock.get() < 0) throw_errno("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    throw_errno("bind 127.0.0.1:0");
  }
  socklen_t len = sizeof addr;
  if (::getsockname(sock.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw_errno("getsockname");
  }
  return ntohs(addr.sin_port);
}

namespace {

sockaddr_in ipv4_address(const std::string& host, int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    throw std::invalid_argument("not an IPv4 address: " + host);
  }
  return addr;
}

// One exchange: connect, send the request, parse the status line.
std::optional<int> exchange(const sockaddr_in& addr, const std::string& request,
                            Clock::time_point deadline) {
  Fd sock(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (sock.get() < 0) return std::nullopt;
  if (::connect(sock.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno != EINPROGRESS) return std::nullopt;
    pollfd p{sock.get(), POLLOUT, 0};
    if (::poll(&p, 1, remaining_ms(deadline)) <= 0) return std::nullopt;
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(sock.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
      return std::nullopt;
    }
  }
  if (::send(sock.get(), request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    return std::nullopt;
  }
  // "HTTP/1.1 200" is 12 bytes.
  std::string answer;
  while (answer.size() < 12) {
    pollfd p{sock.get(), POLLIN, 0};
    if (::poll(&p, 1, remaining_ms(deadline)) <= 0) return std::nullopt;
    char chunk[64];
    ssize_t n = ::recv(sock.get(), chunk, sizeof chunk, 0);
    if (n <= 0) return std::nullopt;
    answer.append(chunk, static_cast<std::size_t>(n));
  }
  if (answer.rfind("HTTP/", 0) != 0) return std::nullopt;
  auto space = answer.find(' ');
  if (space == std::string::npos || space + 4 > answer.size()) return std::nullopt;
  int status = 0;
  for (std::size_t i = space + 1; i < space + 4; ++i) {
    if (answer[i] < '0' || answer[i] > '9') return std::nullopt;
    status = status * 10 + (answer[i] - '0');
  }
  return status;
}

std::string bodiless_request(const std::string& method, const std::string& path,
                             const std::string& host) {
  return method + " " + path + " HTTP/1.0\r\nHost: " + host +
         "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
}

}  // namespace

std::optional<int> http_status(const std::string& host, int port, const std::string& method,
                               const std::string& path, std::chrono::milliseconds timeout) {
  return exchange(ipv4_address(host, port), bodiless_request(method, path, host),
                  Clock::now() + timeout);
}

bool wait_for_http(const std::string& host, int port, std::chrono::milliseconds timeout) {
  sockaddr_in addr = ipv4_address(host, port);
  std::string request = bodiless_request("GET", "/", host);
  auto deadline = Clock::now() + timeout;
  for (;;) {
    if (exchange(addr, request, deadline)) return true;
    if (Clock::now() >= deadline) return false;
    // Nothing listens yet, and nothing signals when something starts to:
    // retry at a short interval until the deadline.
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace ecr::testing
