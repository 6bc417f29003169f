#include "cache_command.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <ctime>
#include <iostream>
#include <limits>
#include <memory>
#include <string>

#include "ecr/cache.hpp"
#include "usage_error.hpp"

namespace ecr::cli {
namespace {

struct CacheArgs {
  std::string cache_dir;
  std::string max_size;
};

// On each leaf so it may follow the verb: `ecr cache ls --cache-dir DIR`.
void add_cache_dir_option(CLI::App& command, CacheArgs& args) {
  command
      .add_option("--cache-dir", args.cache_dir,
                  "cache directory (default $XDG_CACHE_HOME/ecr or ~/.cache/ecr)")
      ->type_name("DIR");
}

BlobCache open_cache(const CacheArgs& args) {
  return BlobCache(args.cache_dir.empty() ? default_cache_root()
                                          : std::filesystem::path(args.cache_dir));
}

// UTC, to the second: "2024-11-23T20:31:05Z".
std::string format_time(std::chrono::system_clock::time_point t) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(t);
  std::tm utc{};
  ::gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

std::string entry_line(const CacheEntry& e) {
  return e.digest.str() + "  " + std::to_string(e.size) + "  " + format_time(e.last_used);
}

std::uint64_t total_size(const std::vector<CacheEntry>& entries) {
  std::uint64_t total = 0;
  for (const CacheEntry& e : entries) total += static_cast<std::uint64_t>(e.size);
  return total;
}

void list_blobs(const CacheArgs& args) {
  std::vector<CacheEntry> entries = open_cache(args).list();
  // Most recently used first: what `prune` would keep longest comes first.
  std::stable_sort(entries.begin(), entries.end(), [](const CacheEntry& a, const CacheEntry& b) {
    return a.last_used > b.last_used;
  });
  for (const CacheEntry& e : entries) std::cout << entry_line(e) << "\n";
  std::cout << entries.size() << " blobs, " << total_size(entries) << " bytes\n";
}

void prune_blobs(const CacheArgs& args) {
  const std::uint64_t max_bytes = parse_byte_size(args.max_size);
  BlobCache cache = open_cache(args);
  const std::vector<CacheEntry> removed = cache.prune(max_bytes);
  for (const CacheEntry& e : removed) std::cout << "removed " << entry_line(e) << "\n";
  const std::vector<CacheEntry> kept = cache.list();
  std::cout << "removed " << removed.size() << " blobs (" << total_size(removed) << " bytes); kept "
            << kept.size() << " blobs (" << total_size(kept) << " bytes)\n";
}

void verify_blobs(const CacheArgs& args) {
  BlobCache cache = open_cache(args);
  const std::vector<CacheEntry> dropped = cache.verify();
  for (const CacheEntry& e : dropped) {
    std::cout << "dropped " << e.digest.str() << " (" << e.size
              << " bytes): content does not match its digest\n";
  }
  std::cout << cache.list().size() << " blobs intact, dropped " << dropped.size() << "\n";
}

}  // namespace

std::uint64_t parse_byte_size(std::string_view text) {
  auto fail = [&]() -> UsageError {
    return UsageError("--max-size: expected a byte count such as 1024, 500M or 2G, got \"" +
                      std::string(text) + "\"");
  };
  std::uint64_t number = 0;
  auto [end, err] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (err != std::errc() || end == text.data()) throw fail();
  std::string unit(end, text.data() + text.size());
  for (char& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (unit.ends_with("IB")) {
    unit.resize(unit.size() - 2);
    if (unit.empty()) throw fail();  // "5iB"
  } else if (unit.size() == 2 && unit.ends_with("B")) {
    unit.resize(1);
  }
  int shift = 0;
  if (unit.empty() || unit == "B") {
    shift = 0;
  } else if (unit == "K") {
    shift = 10;
  } else if (unit == "M") {
    shift = 20;
  } else if (unit == "G") {
    shift = 30;
  } else if (unit == "T") {
    shift = 40;
  } else {
    throw fail();
  }
  if (shift > 0 && number > (std::numeric_limits<std::uint64_t>::max() >> shift)) throw fail();
  return number << shift;
}

CLI::App* add_cache_command(CLI::App& parent) {
  auto args = std::make_shared<CacheArgs>();
  CLI::App* cache =
      parent.add_subcommand("cache", "The local blob cache used by ecr-push and ecr-pull");
  cache->require_subcommand(1);

  CLI::App* ls =
      cache->add_subcommand("ls", "List cached blobs: digest, size in bytes, last used (UTC)");
  add_cache_dir_option(*ls, *args);
  ls->callback([args] { list_blobs(*args); });

  CLI::App* prune =
      cache->add_subcommand("prune", "Remove least recently used blobs until the cache fits");
  prune
      ->add_option("--max-size", args->max_size,
                   "what the cache may keep: 1024, 500M, 2G, ... (binary units)")
      ->required()
      ->type_name("SIZE");
  add_cache_dir_option(*prune, *args);
  prune->callback([args] { prune_blobs(*args); });

  CLI::App* verify =
      cache->add_subcommand("verify", "Re-hash every blob and drop those that do not match");
  add_cache_dir_option(*verify, *args);
  verify->callback([args] { verify_blobs(*args); });
  return cache;
}

}  // namespace ecr::cli
