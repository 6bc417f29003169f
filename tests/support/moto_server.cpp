#include "support/moto_server.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace ecr::testing {
namespace {

constexpr const char* kHost = "127.0.0.1";

// Another process can take the port between free_loopback_port() and
// moto_server binding it; a server that exits at once is retried this many
// times on a fresh port.
constexpr int kStartAttempts = 3;

bool on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    auto end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string dir = dirs.substr(start, end - start);
    if (::access(((dir.empty() ? "." : dir) + "/" + program).c_str(), X_OK) == 0) return true;
    start = end + 1;
  }
  return false;
}

std::string temp_dir() {
  const char* dir = std::getenv("TMPDIR");
  return dir && *dir ? dir : "/tmp";
}

}  // namespace

bool MotoServer::available() { return on_path("moto_server"); }

MotoServer::MotoServer(std::chrono::milliseconds startup_timeout) {
  auto deadline = std::chrono::steady_clock::now() + startup_timeout;
  for (int attempt = 1; attempt <= kStartAttempts; ++attempt) {
    port_ = free_loopback_port();
    endpoint_url_ = "http://" + std::string(kHost) + ":" + std::to_string(port_);
    log_path_ = temp_dir() + "/moto_server-" + std::to_string(::getpid()) + "-" +
                std::to_string(port_) + ".log";
    ProcessOptions options;
    options.argv = {"moto_server", "-H", kHost, "-p", std::to_string(port_)};
    options.stderr_path = log_path_;
    options.capture_stdout = false;  // werkzeug's banner and any print() go to the log too
    process_ = std::make_unique<Subprocess>(options);
    // Wait in short slices so that a server that died (port taken, broken
    // install) is noticed at once instead of at the deadline.
    while (std::chrono::steady_clock::now() < deadline && process_->running()) {
      if (wait_for_http(kHost, port_, std::chrono::milliseconds(250))) return;
    }
    std::string why = process_->running() ? "did not answer in time" : "exited";
    process_->terminate();
    std::string output = log();
    std::remove(log_path_.c_str());
    if (why == "did not answer in time" || attempt == kStartAttempts) {
      throw std::runtime_error("moto_server on " + endpoint_url_ + " " + why + "; its log:\n" +
                               output);
    }
  }
}

MotoServer::~MotoServer() {
  process_.reset();
  std::remove(log_path_.c_str());
}

void MotoServer::reset() {
  auto status = http_status(kHost, port_, "POST", "/moto-api/reset", std::chrono::seconds(30));
  if (status != 200) {
    throw std::runtime_error("POST " + endpoint_url_ + "/moto-api/reset answered " +
                             (status ? std::to_string(*status) : std::string("nothing")));
  }
}

std::string MotoServer::log() const {
  std::ifstream in(log_path_);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace ecr::testing
