#include "aws/credential_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "core/file.hpp"
#include "core/json_reader.hpp"
#include "ecr/error.hpp"

extern char** environ;

namespace ecr::aws {
namespace {

struct Pipe {
  UniqueFd read_end;
  UniqueFd write_end;
};

Pipe make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    throw InputError(std::string("cannot create a pipe for credential_process: ") +
                     std::strerror(errno));
  }
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

// Output of a credentials helper is a few hundred bytes; anything past this
// is not a credentials document.
constexpr std::size_t kMaxOutputBytes = 1 << 20;

struct ProcessResult {
  int status = 0;
  std::string out;
  std::string err;
};

ProcessResult run_shell(const std::string& command, const std::string& profile) {
  Pipe out = make_pipe();
  Pipe err = make_pipe();
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out.write_end.get(), STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err.write_end.get(), STDERR_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  const char* argv[] = {"sh", "-c", command.c_str(), nullptr};
  pid_t pid = 0;
  const int rc =
      posix_spawn(&pid, "/bin/sh", &actions, nullptr, const_cast<char* const*>(argv), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    throw InputError("credential_process of profile '" + profile +
                     "' could not start /bin/sh: " + std::strerror(rc));
  }
  out.write_end.reset();
  err.write_end.reset();

  ProcessResult result;
  std::array<pollfd, 2> fds{pollfd{out.read_end.get(), POLLIN, 0},
                            pollfd{err.read_end.get(), POLLIN, 0}};
  std::array<std::string*, 2> sinks{&result.out, &result.err};
  int open_fds = 2;
  while (open_fds > 0) {
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buf[4096];
      const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        if (sinks[i]->size() < kMaxOutputBytes) sinks[i]->append(buf, static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        fds[i].fd = -1;  // EOF or error: stop polling it
        --open_fds;
      }
    }
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.status = status;
  return result;
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

Credentials run_credential_process(const std::string& command, const std::string& profile) {
  const std::string what = "credential_process '" + command + "' of profile '" + profile + "'";
  const ProcessResult result = run_shell(command, profile);
  if (!WIFEXITED(result.status) || WEXITSTATUS(result.status) != 0) {
    const std::string how = WIFEXITED(result.status)
                                ? "exited with status " + std::to_string(WEXITSTATUS(result.status))
                                : "was killed by signal " + std::to_string(WTERMSIG(result.status));
    const std::string err = trimmed(result.err);
    throw InputError(what + " " + how + (err.empty() ? std::string() : ": " + err));
  }
  return parse_credential_process_output(result.out, what);
}

Credentials parse_credential_process_output(std::string_view out, const std::string& what) {
  simdjson::dom::parser parser;
  const simdjson::dom::element doc = json::parse(parser, out, what + " output");
  int64_t version = 0;
  if (doc["Version"].get(version) != simdjson::SUCCESS || version != 1) {
    throw InputError(what + " printed no \"Version\": 1 (the only version the protocol defines)");
  }
  auto field = [&](const char* name, bool required) -> std::string {
    std::string_view value;
    if (doc[name].get(value) != simdjson::SUCCESS || value.empty()) {
      if (required) throw InputError(what + " printed no \"" + name + "\"");
      return {};
    }
    return std::string(value);
  };
  Credentials creds;
  creds.access_key_id = field("AccessKeyId", true);
  creds.secret_access_key = field("SecretAccessKey", true);
  creds.session_token = field("SessionToken", false);
  return creds;
}

}  // namespace ecr::aws
