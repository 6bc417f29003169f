// What ecr-push and ecr-pull share: the AWS and transfer options, progress
// lines, the --json summary, signal handling and exit statuses.
#pragma once

#include <CLI/CLI.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "ecr/transfer.hpp"

namespace ecr::cli {

// Exit statuses (documented in --help).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
// (ecr's own usage status is 252: tools/ecr/exit_status.hpp.)
inline constexpr int kExitTransferUsage = 2;
inline constexpr int kExitInterrupted = 130;  // 128 + SIGINT, as shells report it

extern const char* const kExitStatusHelp;

struct CommonFlags {
  std::optional<std::string> region;
  std::optional<std::string> profile;
  std::optional<std::string> endpoint_url;
  std::optional<int> stall_timeout;  // seconds
  int jobs = kDefaultTransferJobs;
  std::string part_size = "10MiB";
  std::optional<std::string> platform;
  bool all_platforms = false;
  std::optional<std::string> cache_dir;
  bool no_cache = false;
  bool quiet = false;
  bool json = false;
};

void add_common_options(CLI::App& app, CommonFlags& flags);

// --compression's value (gzip, zstd or none) as CompressOptions, at the
// algorithm's default level. Throws CLI::ValidationError for anything else.
CompressOptions compress_options(const std::string& name);

// What a PlatformError means on the command line: the message, then the
// --platform values to choose from.
std::string platform_advice(const PlatformError& error);

// "10MiB", "5242880", "8M" -> bytes. Throws InputError.
std::int64_t parse_size(const std::string& text);

// Builds the client configuration and transfer options from the flags; the
// options are validated here, once. `cancel` is set by SIGINT/SIGTERM.
ClientConfig client_config(const CommonFlags& flags);
TransferOptions transfer_options(const CommonFlags& flags, const std::atomic<bool>& cancel);

// Draws the progress display's final state (on a terminal); call it before
// printing the result so the redraw does not climb over it. run() calls it
// too when the body fails. Idempotent.
void finish_progress();

// Calls finish_progress() when it goes out of scope, however the body ends.
struct ProgressFinisher {
  ProgressFinisher() = default;
  ProgressFinisher(const ProgressFinisher&) = delete;
  ProgressFinisher& operator=(const ProgressFinisher&) = delete;
  ~ProgressFinisher() { finish_progress(); }
};

// SIGINT and SIGTERM set the returned flag; the engine then stops at its next
// check and throws Cancelled. A second signal exits 130 at once.
const std::atomic<bool>& install_cancel_handlers();

// {"digest":..,"blobs":[{"digest","size","action"}],"<bytes_key>":..,"bytesSkipped":..,"seconds":..}
// With `referrers` (--referrers), also "referrers":[{"digest","mediaType","artifactType"}].
std::string summary_json(const TransferResult& result, const char* bytes_key,
                         bool referrers = false);

// The lines that name the referrers a transfer carried (--referrers), one
// per referrer ("<verb> referrer <digest> <artifactType>"), or one line
// saying there were none.
std::string referrer_lines(const TransferResult& result, const std::string& verb);

// Parses, runs `body` and maps what it throws to an exit status with one
// clear line on stderr: usage errors 2, Cancelled 130, other errors 1 (a
// service error says which AWS error it was, a throttling error which
// operation was throttled after how many attempts; a PlatformError which
// --platform values there are).
int run(CLI::App& app, int argc, char** argv, const std::string& what,
        const std::function<void()>& body);

}  // namespace ecr::cli
