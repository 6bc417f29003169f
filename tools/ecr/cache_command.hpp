// `ecr cache ls|prune|verify`: inspect and trim the local blob cache
// (include/ecr/cache.hpp). `--cache-dir DIR` picks the cache; the default is
// $XDG_CACHE_HOME/ecr, else ~/.cache/ecr.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string_view>

namespace ecr::cli {

// Adds the "cache" subcommand with "ls", "prune --max-size SIZE" and "verify"
// to `parent`. The callbacks print to stdout and throw UsageError (a bad
// --max-size) or ecr::Error subclasses (InputError for file system failures)
// for main to map to exit codes.
CLI::App* add_cache_command(CLI::App& parent);

// Parses a byte count: digits with an optional binary unit K, M, G or T
// (case-insensitive, optionally followed by "iB" or "B"): "1024", "500M",
// "2G", "64KiB". Throws UsageError naming the text when it is not one, or when
// it overflows 64 bits.
std::uint64_t parse_byte_size(std::string_view text);

}  // namespace ecr::cli
