// ecr-local: a local ECR-compatible registry server.
//
//   ecr-local --root DIR --listen 127.0.0.1:PORT     serve (first stdout line: base URL)
//     [--tls-cert FILE --tls-key FILE]               ... over https
//     [--throttle] [--throttle-file FILE]            ... with ECR's API rate quotas
//   ecr-local apply-lifecycle --root DIR             apply lifecycle policies once and exit
//   ecr-local gc --root DIR [--blob-retention S]     collect garbage once and exit
//   ecr-local check --root DIR                       check the root's consistency and exit
//
// Exit codes: 0 after a clean stop (SIGINT/SIGTERM), 2 for bad arguments,
// 1 when the server cannot start. check: 0 consistent, 1 problems found.
#include <CLI/CLI.hpp>

#include <pthread.h>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <thread>

#include "ecr/error.hpp"
#include "server/http_server.hpp"
#include "server/registry_check.hpp"

namespace {

using ecr::server::ServerOptions;

std::optional<std::string> env(const char* name) {
  const char* value = std::getenv(name);
  if (!value || !*value) return std::nullopt;
  return std::string(value);
}

// "host:port" -> host, port. IPv6 literals go in brackets.
void parse_listen(const std::string& text, ServerOptions& options) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos)
    throw ecr::InputError("--listen wants HOST:PORT, not '" + text + "'");
  std::string host = text.substr(0, colon);
  if (host.size() > 1 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  int port = 0;
  try {
    std::size_t used = 0;
    port = std::stoi(text.substr(colon + 1), &used);
    if (used != text.size() - colon - 1) throw std::invalid_argument("trailing");
  } catch (const std::exception&) {
    throw ecr::InputError("--listen port must be a number in 0-65535, not '" +
                          text.substr(colon + 1) + "'");
  }
  if (port < 0 || port > 65535) throw ecr::InputError("--listen port must be in 0-65535");
  options.host = host;
  options.port = port;
}

// How long a stop waits for the server to return. It returns promptly with
// connections open (they are abandoned, HttpListener::run), after the request
// handlers already running finish; this bounds a handler stuck on storage.
constexpr std::chrono::seconds kStopGrace{2};

// Set by main() once the server has stopped; the waiter watches it.
struct Stopped {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
};

// Blocks SIGINT/SIGTERM in every thread and waits for them on one, so the
// server stops cleanly instead of dying mid-write. The server stops reading
// and writing at once; requests being read or waiting for an answer are
// abandoned, handlers already running finish. Should one still run
// kStopGrace after the signal, the process exits 0 without it. Both are safe
// by the storage rules: every acknowledged part, blob and metadata change is
// already durable, and an SQLite transaction cut short is rolled back
// (docs/ecr-local.md).
std::thread stop_on_signal(ecr::server::RegistryServer& server, sigset_t signals,
                           Stopped& stopped) {
  return std::thread([&server, signals, &stopped] {
    int sig = 0;
    sigwait(&signals, &sig);
    server.stop();
    std::unique_lock lock(stopped.mu);
    if (stopped.cv.wait_for(lock, kStopGrace, [&] { return stopped.done; })) return;
    std::cerr << "ecr-local: requests still running " << kStopGrace.count()
              << " s after the stop signal; exiting without them\n";
    std::_Exit(0);
  });
}

// ecr-local check: each finding on a line of its own, then the summary.
// Leftovers of a crash are listed but are no problem: exit 0 unless a
// problem was found (1), or the root cannot be checked (2: not a root).
int run_check(const std::filesystem::path& root) {
  ecr::server::CheckReport report;
  try {
    report = ecr::server::check_root(root);
  } catch (const ecr::InputError& e) {
    std::cerr << "ecr-local: check: " << e.what() << "\n";
    return 2;
  }
  for (const auto& finding : report.findings) std::cout << to_string(finding) << "\n";
  std::cout << ecr::server::check_summary(report) << "\n";
  return report.problems() == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ecr-local: a local registry that speaks the Amazon ECR API"};
  ServerOptions options;
  std::string root;
  std::string listen = "127.0.0.1:5000";
  std::optional<std::string> access_key, secret_key, public_url;
  std::string tls_cert, tls_key;
  std::string log_level = "info";
  long long upload_expiry_s = 24 * 3600, lifecycle_interval_s = 3600, download_expiry_s = 3600,
            blob_retention_s = 24 * 3600, archive_restore_delay_s = 0;
  double idle_timeout_s = 60, header_timeout_s = 30, body_timeout_s = 30, write_timeout_s = 60;
  bool no_auth = false;
  bool throttle = false;
  std::string throttle_file;

  app.add_option("--root", root, "Directory holding blobs and metadata (created when missing)")
      ->required();
  app.add_option("--listen", listen, "HOST:PORT to listen on; port 0 picks a free port")
      ->capture_default_str();
  app.add_option("--access-key", access_key,
                 "Accepted access key id (default: $AWS_ACCESS_KEY_ID, else 'ecr-local')");
  app.add_option("--secret-key", secret_key,
                 "Its secret (default: $AWS_SECRET_ACCESS_KEY, else 'ecr-local-secret')");
  app.add_option("--account-id", options.registry.account_id, "Registry (account) id")
      ->capture_default_str();
  app.add_option("--region", options.registry.region, "Region in repository URIs and ARNs")
      ->capture_default_str();
  app.add_flag("--no-auth", no_auth, "Skip signature checks (experiments only)");
  app.add_option("--public-url", public_url,
                 "Base URL for URLs handed out (default: http(s)://<Host header>)");
  auto* cert_option = app.add_option(
      "--tls-cert", tls_cert,
      "Serve https with this PEM certificate chain (the server's certificate first)");
  auto* key_option =
      app.add_option("--tls-key", tls_key, "The PEM private key of --tls-cert (not encrypted)");
  cert_option->needs(key_option);
  key_option->needs(cert_option);
  app.add_option("--log-level", log_level, "error, warn, info or debug")->capture_default_str();
  app.add_option("--upload-expiry", upload_expiry_s, "Seconds an idle layer upload lives")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--lifecycle-interval", lifecycle_interval_s,
                 "Seconds between maintenance passes (lifecycle policies, upload expiry, "
                 "garbage collection); 0 disables them")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--archive-restore-delay", archive_restore_delay_s,
                 "Seconds a restore from the archive storage class takes (the image is "
                 "ACTIVATING meanwhile); 0 restores at once")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--blob-retention", blob_retention_s,
                 "Seconds a layer no image references stays in its repository (from its upload "
                 "or the last BatchCheckLayerAvailability that reported it) before garbage "
                 "collection drops it; its file goes once no repository has it")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--download-url-expiry", download_expiry_s, "Seconds a download URL stays valid")
      ->capture_default_str()
      ->check(CLI::Range(1LL, 604800LL));
  app.add_option("--threads", options.http.handler_threads,
                 "Request handler threads (connections do not hold one; only a request whose "
                 "body is in does)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  app.add_option("--io-threads", options.http.io_threads, "Threads reading and writing connections")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  app.add_option("--max-connections", options.http.max_connections,
                 "Connections served at once; more are answered 503")
      ->capture_default_str()
      ->check(CLI::Range(1, 1'000'000));
  app.add_option("--idle-timeout", idle_timeout_s, "Seconds a connection may wait between requests")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--header-timeout", header_timeout_s,
                 "Seconds from a request's first byte to the end of its header")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--body-timeout", body_timeout_s,
                 "Seconds a request body may go without a byte arriving")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--write-timeout", write_timeout_s,
                 "Seconds a response may go without the client taking a byte of it")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_flag("--throttle", throttle,
               "Limit each ECR API operation to ECR's default rate quota (e.g. PutImage 10/s); "
               "a request over it gets ThrottlingException");
  app.add_option("--throttle-file", throttle_file,
                 "Throttle, with the rates of FILE over ECR's: lines \"OPERATION RATE\" (per "
                 "second, or \"unlimited\"); implies --throttle");
  auto* apply = app.add_subcommand("apply-lifecycle",
                                   "Apply every repository's lifecycle policy now and exit");
  auto* gc = app.add_subcommand(
      "gc", "Collect garbage now (layers no image references, past --blob-retention) and exit");
  auto* check = app.add_subcommand(
      "check",
      "Check a root no server is using: blob files against their digests, metadata against the "
      "files, images against their manifests; list what is wrong and what a crash left; exit 1 "
      "when something is wrong");
  // The registry's options may follow the subcommand too (ecr-local gc --root DIR).
  apply->fallthrough();
  gc->fallthrough();
  check->fallthrough();
  app.require_subcommand(0, 1);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  try {
    options.root = root;
    parse_listen(listen, options);
    options.log_level = ecr::server::parse_log_level(log_level);
    options.access_key =
        access_key.value_or(env("AWS_ACCESS_KEY_ID").value_or(ecr::server::kDefaultAccessKey));
    options.secret_key =
        secret_key.value_or(env("AWS_SECRET_ACCESS_KEY").value_or(ecr::server::kDefaultSecretKey));
    options.require_auth = !no_auth;
    options.public_url = public_url;
    if (options.public_url) {
      while (options.public_url->ends_with('/')) options.public_url->pop_back();
    }
    options.registry.upload_expiry = std::chrono::seconds(upload_expiry_s);
    options.registry.blob_retention = std::chrono::seconds(blob_retention_s);
    options.registry.archive_restore_delay = std::chrono::seconds(archive_restore_delay_s);
    options.maintenance_interval = std::chrono::seconds(lifecycle_interval_s);
    options.download_url_lifetime = std::chrono::seconds(download_expiry_s);
    const auto millis = [](double seconds) {
      return std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
    };
    options.http.idle_timeout = millis(idle_timeout_s);
    options.http.header_timeout = millis(header_timeout_s);
    options.http.body_timeout = millis(body_timeout_s);
    options.http.write_timeout = millis(write_timeout_s);
    options.http.tls_certificate_file = tls_cert;
    options.http.tls_private_key_file = tls_key;
    if (throttle || !throttle_file.empty()) {
      options.throttle = ecr::server::ecr_rate_quotas();
      if (!throttle_file.empty()) {
        options.throttle = ecr::server::read_throttle_file(throttle_file, *options.throttle);
      }
    }
  } catch (const ecr::InputError& e) {
    std::cerr << "ecr-local: " << e.what() << "\n";
    return 2;
  }

  try {
    if (*apply) {
      ecr::server::Registry registry(options.root, options.registry);
      std::size_t acted = registry.apply_lifecycle_policies();
      std::cout << "expired or archived " << acted << " images\n";
      return 0;
    }
    if (*check) return run_check(options.root);
    if (*gc) {
      ecr::server::Registry registry(options.root, options.registry);
      std::cout << ecr::server::garbage_summary(registry.collect_garbage()) << "\n";
      return 0;
    }
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    std::signal(SIGPIPE, SIG_IGN);

    ecr::server::RegistryServer server(options);
    int port = server.bind();
    std::string host =
        options.host.find(':') != std::string::npos ? "[" + options.host + "]" : options.host;
    std::cout << (tls_cert.empty() ? "http://" : "https://") << host << ":" << port << std::endl;
    Stopped stopped;
    std::thread waiter = stop_on_signal(server, signals, stopped);
    server.run();
    {
      const std::lock_guard lock(stopped.mu);
      stopped.done = true;
    }
    stopped.cv.notify_all();
    // run() also returns when listening fails; wake the waiter so it can end
    // (a waiter already past sigwait has the signal blocked and ignores it).
    pthread_kill(waiter.native_handle(), SIGTERM);
    waiter.join();
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "ecr-local: " << e.what() << "\n";
    return 1;
  }
}
