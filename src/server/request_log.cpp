#include "server/request_log.hpp"

#include <unistd.h>

#include <chrono>
#include <ctime>
#include <string>

#include "ecr/error.hpp"

namespace ecr::server {

LogLevel parse_log_level(std::string_view text) {
  if (text == "error") return LogLevel::kError;
  if (text == "warn") return LogLevel::kWarn;
  if (text == "info") return LogLevel::kInfo;
  if (text == "debug") return LogLevel::kDebug;
  throw InputError("log level must be error, warn, info or debug, not '" + std::string(text) + "'");
}

void Log::write(LogLevel level, std::string_view line) const {
  if (!enabled(level)) return;
  static constexpr const char* kNames[] = {"ERROR", "WARN", "INFO", "DEBUG"};
  auto now = std::chrono::system_clock::now();
  std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char stamp[40];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &utc);
  std::string text = std::string(stamp) + "." + std::to_string(1000 + ms).substr(1) + "Z " +
                     kNames[static_cast<int>(level)] + " ";
  text.append(line);
  text.push_back('\n');
  // One write(2) per line keeps lines whole under concurrency.
  std::string_view rest = text;
  while (!rest.empty()) {
    ssize_t n = ::write(STDERR_FILENO, rest.data(), rest.size());
    if (n <= 0) return;
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
}

}  // namespace ecr::server
