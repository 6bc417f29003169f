// What ecr-push and ecr-pull share: the AWS and transfer options, progress
// lines, the --json summary, signal handling and exit statuses.
#pragma once

#include <CLI/CLI.hpp>

#include <atomic>
#include <functional>
#include <optional>
#include <string>

#include "ecr/transfer.hpp"

namespace ecr::cli {

// Exit statuses (documented in --help).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitInterrupted = 130;  // 128 + SIGINT, as shells report it

extern const char* const kExitStatusHelp;

struct CommonFlags {
  std::optional<std::string> region;
  std::optional<std::string> profile;
  std::optional<std::string> endpoint_url;
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

// "10MiB", "5242880", "8M" -> bytes. Throws InputError.
std::int64_t parse_size(const std::string& text);

// Builds the client configuration and transfer options from the flags; the
// options are validated here, once. `cancel` is set by SIGINT/SIGTERM.
ClientConfig client_config(const CommonFlags& flags);
TransferOptions transfer_options(const CommonFlags& flags, const std::atomic<bool>& cancel);

// SIGINT and SIGTERM set the returned flag; the engine then stops at its next
// check and throws Cancelled.
const std::atomic<bool>& install_cancel_handlers();

// {"digest":..,"blobs":[{"digest","size","action"}],"<bytes_key>":..,"bytesSkipped":..,"seconds":..}
std::string summary_json(const TransferResult& result, const char* bytes_key);

// Parses, runs `body` and maps what it throws to an exit status with one
// clear line on stderr: usage errors 2, Cancelled 130, other errors 1 (a
// service error says which AWS error it was).
int run(CLI::App& app, int argc, char** argv, const std::string& what,
        const std::function<void()>& body);

}  // namespace ecr::cli
