#include "support/ecr_local_server.hpp"

#include <stdlib.h>

#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <thread>

namespace ecr::testing {
namespace {

std::string read_all(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::filesystem::path make_temp_directory() {
  const char* tmp = ::getenv("TMPDIR");
  std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/ecr-local-test-XXXXXX";
  if (!::mkdtemp(pattern.data())) {
    throw std::system_error(errno, std::generic_category(), "mkdtemp " + pattern);
  }
  return pattern;
}

}  // namespace

std::string EcrLocalServer::binary() { return ECR_LOCAL_BINARY; }

EcrLocalServer::EcrLocalServer(std::vector<std::string> extra_args,
                               std::chrono::milliseconds startup_timeout)
    : dir_(make_temp_directory()), log_path_(dir_ / "ecr-local.log") {
  ProcessOptions opts;
  opts.argv = {binary(),   "--root",       (dir_ / "registry").string(),
               "--listen", "127.0.0.1:0",  "--access-key",
               kAccessKey, "--secret-key", kSecretKey};
  opts.argv.insert(opts.argv.end(), extra_args.begin(), extra_args.end());
  opts.stderr_path = log_path_.string();
  process_ = std::make_unique<Subprocess>(opts);
  const std::optional<std::string> line = process_->read_line(startup_timeout);
  if (!line ||
      (line->rfind("http://127.0.0.1:", 0) != 0 && line->rfind("https://127.0.0.1:", 0) != 0)) {
    const std::string log_text = log();
    process_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
    throw std::runtime_error("ecr-local printed no URL (got '" + line.value_or("") +
                             "'); its log:\n" + log_text);
  }
  endpoint_url_ = *line;
  port_ = std::stoi(endpoint_url_.substr(endpoint_url_.rfind(':') + 1));
}

EcrLocalServer::~EcrLocalServer() {
  if (!status_) stop();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::string EcrLocalServer::log() const { return read_all(log_path_); }

std::string EcrLocalServer::settled_log() const {
  // ecr-local writes a request's line just after sending its answer, so a
  // client that has just exited may be a line ahead of the log: wait until
  // the log has not grown for kSettle (at most kMaxWait).
  constexpr auto kSettle = std::chrono::milliseconds(100);
  constexpr auto kMaxWait = std::chrono::seconds(3);
  const auto give_up = std::chrono::steady_clock::now() + kMaxWait;
  std::string text = log();
  while (std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(kSettle);
    std::string again = log();
    if (again.size() == text.size()) break;
    text = std::move(again);
  }
  return text;
}

std::vector<std::string> EcrLocalServer::request_log() const {
  // "<date>T<time>Z INFO <operation> <status> ..." or, for non-JSON requests,
  // "... INFO GET /path <status> ...": the operation is the third field.
  std::vector<std::string> ops;
  std::istringstream lines(settled_log());
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    std::string when, level, op, status;
    if (!(fields >> when >> level >> op >> status) || level != "INFO") continue;
    if (op == "maintenance:") continue;
    ops.push_back(op);
  }
  return ops;
}

int EcrLocalServer::requests(std::string_view operation) const {
  int n = 0;
  for (const auto& op : request_log()) n += op == operation ? 1 : 0;
  return n;
}

int EcrLocalServer::stop() {
  if (!status_) status_ = process_->terminate();
  return *status_;
}

std::map<std::string, std::optional<std::string>> EcrLocalServer::tool_env() {
  return {{"AWS_ACCESS_KEY_ID", kAccessKey},
          {"AWS_SECRET_ACCESS_KEY", kSecretKey},
          {"AWS_SESSION_TOKEN", std::nullopt},
          {"AWS_PROFILE", std::nullopt},
          {"AWS_DEFAULT_PROFILE", std::nullopt},
          {"AWS_REGION", kRegion},
          {"AWS_DEFAULT_REGION", kRegion},
          {"AWS_ENDPOINT_URL", std::nullopt},
          {"AWS_ENDPOINT_URL_ECR", std::nullopt},
          {"AWS_CONFIG_FILE", "/dev/null"},
          {"AWS_SHARED_CREDENTIALS_FILE", "/dev/null"},
          {"AWS_MAX_ATTEMPTS", std::nullopt}};
}

}  // namespace ecr::testing
