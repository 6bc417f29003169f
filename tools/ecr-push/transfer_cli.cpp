#include "transfer_cli.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <mutex>

#include "core/json_writer.hpp"
#include "ecr/cache.hpp"
#include "progress_view.hpp"

namespace ecr::cli {

const char* const kExitStatusHelp =
    "Exit status: 0 success; 1 failure (the message names what failed and the AWS error, e.g. "
    "RepositoryNotFoundException, or the operation the registry throttled once its attempts "
    "ran out: AWS_MAX_ATTEMPTS, default 3; a local destination or cache out of space names the "
    "path and \"No space left on device\", and nothing partial is left); 2 usage error; 130 "
    "interrupted by SIGINT or SIGTERM (nothing partial is left at a local destination).";

void add_common_options(CLI::App& app, CommonFlags& f) {
  app.add_option("--region", f.region, "AWS region (default: AWS_REGION, the profile's region)");
  app.add_option("--profile", f.profile, "shared config/credentials profile");
  app.add_option("--endpoint-url", f.endpoint_url, "ECR endpoint (e.g. an ecr-local URL)");
  app.add_option("--stall-timeout", f.stall_timeout,
                 "seconds without a byte before a request is abandoned and retried or resumed "
                 "(default: ECR_STALL_TIMEOUT, else 15)")
      ->check(CLI::Range(1, 3600));
  app.add_option("--jobs", f.jobs, "blobs transferred at once")->capture_default_str();
  app.add_option("--part-size", f.part_size,
                 "upload part size when the registry names none, 5MiB-20MiB")
      ->capture_default_str();
  app.add_option("--platform", f.platform, "os/arch[/variant] to pick from an index");
  app.add_flag("--all-platforms", f.all_platforms, "keep the whole index");
  app.add_option("--cache-dir", f.cache_dir,
                 "blob cache and push digest index (default: $XDG_CACHE_HOME/ecr, else "
                 "~/.cache/ecr)");
  app.add_flag("--no-cache", f.no_cache, "use no local cache");
  app.add_flag("-q,--quiet", f.quiet, "no progress lines");
  app.add_flag("--json", f.json, "end with one line of JSON describing the transfer");
}

CompressOptions compress_options(const std::string& name) {
  if (name == "gzip") return CompressOptions{.algorithm = Compression::kGzip};
  if (name == "zstd") return CompressOptions{.algorithm = Compression::kZstd};
  if (name == "none") return CompressOptions{.algorithm = Compression::kNone};
  throw CLI::ValidationError("--compression",
                             "must be gzip, zstd or none (found \"" + name + "\")");
}

std::string platform_advice(const PlatformError& error) {
  std::string s = error.what();
  s += "; choose with --platform:";
  for (const auto& p : error.offered()) s += " " + p;
  return s;
}

std::int64_t parse_size(const std::string& text) {
  std::size_t used = 0;
  long long n = 0;
  try {
    n = std::stoll(text, &used);
  } catch (const std::exception&) {
    throw InputError("size '" + text + "' is not a number");
  }
  const std::string unit = text.substr(used);
  std::int64_t scale = 1;
  if (unit == "" || unit == "B") {
    scale = 1;
  } else if (unit == "K" || unit == "KiB" || unit == "k") {
    scale = 1024;
  } else if (unit == "M" || unit == "MiB") {
    scale = 1024 * 1024;
  } else {
    throw InputError("size '" + text + "' has an unknown unit (use B, KiB or MiB)");
  }
  return static_cast<std::int64_t>(n) * scale;
}

namespace {

// The default cache when it can be used, else nullopt with one warning: a
// cache is an optimisation, and a read-only or unset HOME (CI sandboxes,
// containers) must not fail a transfer nobody asked to cache. An explicit
// --cache-dir that cannot be used does fail.
std::optional<std::filesystem::path> usable_default_cache() {
  std::filesystem::path root;
  try {
    root = default_cache_root();
  } catch (const InputError& e) {
    std::cerr << "warning: no blob cache (" << e.what() << ")\n";
    return std::nullopt;
  }
  std::error_code ec;
  std::filesystem::create_directories(root, ec);
  if (ec || ::access(root.c_str(), W_OK) != 0) {
    std::cerr << "warning: no blob cache: " << root.string() << " is not writable"
              << (ec ? " (" + ec.message() + ")" : std::string()) << "\n";
    return std::nullopt;
  }
  return root;
}

}  // namespace

ClientConfig client_config(const CommonFlags& f) {
  ClientConfig c;
  c.region = f.region;
  c.profile = f.profile;
  c.endpoint_url = f.endpoint_url;
  if (f.stall_timeout) c.stall_timeout = std::chrono::seconds(*f.stall_timeout);
  return c;
}

namespace {
std::atomic<bool> g_cancel{false};
// The first SIGINT/SIGTERM asks the engine to stop (it cleans up and exits
// 130); a second one, for a user who does not want to wait, exits at once.
// Both are async-signal-safe: an atomic exchange and _exit.
extern "C" void on_signal(int) {
  if (g_cancel.exchange(true)) ::_exit(kExitInterrupted);
}

// The one progress display of the process, fed by the engine's callback
// (which the engine serializes; the mutex also orders finish_progress).
std::mutex g_progress_mutex;
std::unique_ptr<ProgressView> g_progress;

// Set by SIGWINCH; the next progress event gives the display the new size.
std::atomic<bool> g_resized{false};
extern "C" void on_resize(int) { g_resized.store(true); }

TerminalSize terminal_size() {
  winsize ws{};
  if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 && ws.ws_row > 0) {
    return {.columns = ws.ws_col, .rows = ws.ws_row};
  }
  return {};
}

void write_stderr(const std::string& text) {
  if (text.empty()) return;
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fflush(stderr);
}

}  // namespace

void finish_progress() {
  const std::lock_guard lock(g_progress_mutex);
  if (g_progress) write_stderr(g_progress->finish(ProgressView::Clock::now()));
}

TransferOptions transfer_options(const CommonFlags& f, const std::atomic<bool>& cancel) {
  TransferOptions o;
  o.jobs = f.jobs;
  try {
    o.part_size = parse_size(f.part_size);
    if (f.platform) o.platform = Platform::parse(*f.platform);
    o.all_platforms = f.all_platforms;
    if (f.no_cache && f.cache_dir)
      throw InputError("--cache-dir and --no-cache exclude each other");
    if (f.cache_dir) {
      o.cache_dir = *f.cache_dir;
    } else if (!f.no_cache) {
      o.cache_dir = usable_default_cache();
    }
    o.validate();
  } catch (const InputError& e) {
    // A bad option value is a usage error (exit 2), not a failed transfer.
    throw CLI::ValidationError("options", e.what());
  }
  o.cancel = &cancel;
  if (!f.quiet) {
    // Lines redrawn in place on a terminal; one line per state change on a
    // pipe or in a log, where cursor movement would be noise.
    const bool terminal = ::isatty(STDERR_FILENO) != 0;
    {
      const std::lock_guard lock(g_progress_mutex);
      g_progress = std::make_unique<ProgressView>(
          terminal ? ProgressView::Mode::kTerminal : ProgressView::Mode::kLines, terminal_size());
    }
    if (terminal) {
      struct sigaction sa {};
      sa.sa_handler = on_resize;
      sa.sa_flags = SA_RESTART;
      sigemptyset(&sa.sa_mask);
      sigaction(SIGWINCH, &sa, nullptr);
    }
    o.progress = [](const ProgressEvent& e) {
      const std::lock_guard lock(g_progress_mutex);
      if (g_resized.exchange(false)) g_progress->resize(terminal_size());
      write_stderr(g_progress->update(e, ProgressView::Clock::now()));
    };
  }
  o.validate();
  return o;
}

const std::atomic<bool>& install_cancel_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  return g_cancel;
}

std::string referrer_lines(const TransferResult& r, const std::string& verb) {
  if (r.referrers.empty()) return "no referrers of " + r.digest.str() + " found\n";
  std::string out;
  for (const auto& d : r.referrers) {
    out += verb + " referrer " + d.digest.str();
    if (!d.artifact_type.empty()) out += " " + d.artifact_type;
    out += "\n";
  }
  return out;
}

std::string summary_json(const TransferResult& r, const char* bytes_key, bool referrers) {
  std::string out;
  json::Writer w(out);
  w.begin_object();
  w.key("digest");
  w.string(r.digest.str());
  w.key("blobs");
  w.begin_array();
  for (const auto& b : r.blobs) {
    w.begin_object();
    w.key("digest");
    w.string(b.digest.str());
    w.key("size");
    w.integer(b.size);
    w.key("action");
    w.string(blob_action_name(b.action));
    w.end_object();
  }
  w.end_array();
  w.key(bytes_key);
  w.integer(r.bytes_moved);
  w.key("bytesSkipped");
  w.integer(r.bytes_skipped);
  w.key("seconds");
  w.number(r.seconds);
  if (referrers) {
    w.key("referrers");
    w.begin_array();
    for (const auto& d : r.referrers) {
      w.begin_object();
      w.key("digest");
      w.string(d.digest.str());
      w.key("mediaType");
      w.string(d.media_type);
      if (!d.artifact_type.empty()) {
        w.key("artifactType");
        w.string(d.artifact_type);
      }
      w.end_object();
    }
    w.end_array();
  }
  w.end_object();
  return out;
}

int run(CLI::App& app, int argc, char** argv, const std::string& what,
        const std::function<void()>& body) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitTransferUsage;
  }
  try {
    const ProgressFinisher finisher;
    body();
    return kExitOk;
  } catch (const CLI::Error& e) {
    std::cerr << app.get_name() << ": " << e.what() << "\n";
    return kExitTransferUsage;
  } catch (const Cancelled&) {
    std::cerr << app.get_name() << ": interrupted; " << what << " stopped\n";
    return kExitInterrupted;
  } catch (const PlatformError& e) {
    std::cerr << app.get_name() << ": " << what << " failed: " << platform_advice(e) << "\n";
    return kExitFailure;
  } catch (const ServiceError& e) {
    if (e.throttled()) {
      // "PutImage was throttled by the registry (...) after 3 attempts"
      std::cerr << app.get_name() << ": " << what << " failed: " << e.what()
                << "; try again later, or allow more attempts with AWS_MAX_ATTEMPTS\n";
      return kExitFailure;
    }
    std::cerr << app.get_name() << ": " << what << " failed: the registry answered " << e.name()
              << ": " << e.message() << "\n";
    return kExitFailure;
  } catch (const InputError& e) {
    std::cerr << app.get_name() << ": " << what << " failed: " << e.what() << "\n";
    return kExitFailure;
  } catch (const Error& e) {
    std::cerr << app.get_name() << ": " << what << " failed: " << e.what() << "\n";
    return kExitFailure;
  } catch (const std::exception& e) {
    std::cerr << app.get_name() << ": " << what << " failed: " << e.what() << "\n";
    return kExitFailure;
  }
}

}  // namespace ecr::cli
