// The server's log: one line per request at info level, problems at warn and
// error, details at debug. Lines go to stderr whole (one write per line), so
// concurrent requests never interleave mid-line; stdout is kept for the
// base-URL line scripts read.
#pragma once

#include <string_view>

namespace ecr::server {

enum class LogLevel { kError = 0, kWarn = 1, kInfo = 2, kDebug = 3 };

// Parses "error", "warn", "info", "debug". Throws InputError otherwise.
LogLevel parse_log_level(std::string_view text);

class Log {
 public:
  explicit Log(LogLevel level) : level_(level) {}
  bool enabled(LogLevel level) const noexcept { return level <= level_; }
  // Writes "<UTC time> <LEVEL> <line>\n" when `level` is enabled.
  void write(LogLevel level, std::string_view line) const;

 private:
  LogLevel level_;
};

}  // namespace ecr::server
