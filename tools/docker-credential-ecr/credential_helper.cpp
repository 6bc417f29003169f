#include "credential_helper.hpp"

#include <time.h>

#include <ctime>
#include <iostream>
#include <iterator>

#include "core/base64.hpp"
#include "core/json_writer.hpp"
#include "ecr/client.hpp"
#include "ecr/error.hpp"
#include "registry_target.hpp"

namespace ecr::credential_helper {
namespace {

constexpr std::string_view kProgram = "docker-credential-ecr";

// A token is refreshed this long before ECR says it expires (its tokens last
// 12 hours): docker asks once per pull or push and uses the answer for the
// whole transfer, which should not meet an expired token halfway.
constexpr auto kRefreshBefore = std::chrono::minutes(15);

std::string read_all(std::istream& in) {
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string_view trimmed(std::string_view s) {
  constexpr std::string_view kSpace = " \t\r\n";
  const auto first = s.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(kSpace) - first + 1);
}

std::string utc_text(Clock::time_point time) {
  const std::time_t t = Clock::to_time_t(time);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

// What went wrong, without anything secret: a service error's AWS code and
// message, or the library's own description (which names hosts and files).
std::string describe(const std::exception& e) {
  if (const auto* service = dynamic_cast<const ServiceError*>(&e)) {
    return service->name() + ": " + service->message();
  }
  return e.what();
}

// stdout carries `message` as the protocol wants it; stderr says it too,
// with `detail` when there is more to say.
int fail(std::ostream& out, std::ostream& err, std::string_view message,
         std::string_view detail = {}) {
  out << message << '\n';
  err << kProgram << ": " << (detail.empty() ? message : detail) << '\n';
  return kExitFailure;
}

std::string not_found_reason(std::string_view server_url, const Environment& env) {
  const auto server = server_of(server_url);
  if (!server) return "'" + std::string(server_url) + "' is not a registry host or URL";
  std::string reason = *server + " is not an Amazon ECR registry host";
  try {
    if (const auto endpoint = configured_endpoint({}, env)) {
      reason += " nor the configured endpoint " + *endpoint;
    }
  } catch (const InputError&) {
    // find_registry stopped before it looked at the endpoint.
  }
  return reason;
}

AuthorizationToken token_for(const RegistryTarget& target, std::ostream& err,
                             const HelperOptions& options) {
  const ResolvedConfig config = resolve_config(target.config, options.env);
  const Clock::time_point now = options.now();
  std::optional<TokenCache> cache;
  if (options.cache_dir) cache.emplace(*options.cache_dir);
  const std::string key = TokenCache::key(target.server, config.endpoint_url,
                                          config.credentials.access_key_id, config.profile);
  const std::optional<CachedToken> cached = cache ? cache->load(key) : std::nullopt;
  if (cached && now < cached->expires_at - kRefreshBefore) {
    return {cached->username, cached->password, cached->expires_at};
  }

  AuthorizationToken fresh;
  try {
    fresh = options.fetch(config, target.registry_id);
  } catch (const Error& e) {
    // Within the refresh margin the cached token still works: better that
    // than no login while the service or the network has a bad moment.
    if (!cached || now >= cached->expires_at) throw;
    err << kProgram << ": warning: could not refresh the token for " << target.server << " ("
        << describe(e) << "); using the cached one, valid until " << utc_text(cached->expires_at)
        << '\n';
    return {cached->username, cached->password, cached->expires_at};
  }
  if (cache && fresh.expires_at) {
    try {
      // Read again: the fetch may have corrected the clock (ecr/clock.hpp).
      cache->store(key, {target.server, fresh.username, fresh.password, *fresh.expires_at},
                   options.now());
    } catch (const InputError& e) {
      err << kProgram << ": warning: token for " << target.server << " not cached: " << e.what()
          << '\n';
    }
  }
  return fresh;
}

int get(std::istream& in, std::ostream& out, std::ostream& err, const HelperOptions& options) {
  const std::string input = read_all(in);
  const std::string_view server_url = trimmed(input);
  if (server_url.empty()) return fail(out, err, kMissingServerUrlMessage);
  std::optional<RegistryTarget> target;
  try {
    target = find_registry(server_url, options.env);
  } catch (const InputError& e) {
    return fail(out, err, e.what());
  }
  if (!target) {
    return fail(out, err, kNotFoundMessage, not_found_reason(server_url, options.env));
  }

  AuthorizationToken token;
  try {
    token = token_for(*target, err, options);
  } catch (const ServiceError& e) {
    return fail(out, err,
                "GetAuthorizationToken for " + target->server + " failed: " + describe(e));
  } catch (const Error& e) {
    return fail(out, err, "no token for " + target->server + ": " + e.what());
  }
  std::string json;
  json::Writer w(json);
  w.begin_object();
  w.key("ServerURL");
  w.string(server_url);
  w.key("Username");
  w.string(token.username);
  w.key("Secret");
  w.string(token.password);
  w.end_object();
  out << json << '\n';
  return 0;
}

int list(std::ostream& out, const HelperOptions& options) {
  std::string json;
  json::Writer w(json);
  w.begin_object();
  if (options.cache_dir) {
    for (const CachedToken& entry : TokenCache(*options.cache_dir).list(options.now())) {
      w.key(entry.server);
      w.string(entry.username);
    }
  }
  w.end_object();
  out << json << '\n';
  return 0;
}

int dispatch(std::string_view action, std::istream& in, std::ostream& out, std::ostream& err,
             const HelperOptions& options) {
  if (action == "get") return get(in, out, err, options);
  if (action == "list") return list(out, options);
  if (action == "store" || action == "erase") {
    // `docker login` stores what it was given, `docker logout` erases it:
    // read so the caller's write completes, then nothing to do.
    read_all(in);
    return 0;
  }
  if (action == "version" || action == "--version" || action == "-v") {
    out << kProgram << ' ' << ECR_VERSION << '\n';
    return 0;
  }
  if (action == "--help" || action == "-h") {
    out << usage();
    return 0;
  }
  return fail(out, err, "unknown action: " + std::string(action));
}

}  // namespace

AuthorizationToken fetch_authorization_token(const ResolvedConfig& config,
                                             const std::optional<std::string>& registry_id) {
  ClientConfig client_config;
  client_config.credentials = config.credentials;
  client_config.profile = config.profile;
  client_config.region = config.region;
  client_config.endpoint_url = config.endpoint_url;
  Client client(client_config);
  api::GetAuthorizationTokenRequest request;
  // Deprecated in the model, since a token is good for every registry the
  // credentials may use, but still accepted: the answer then is about this
  // registry rather than the caller's own.
  if (registry_id) request.registryIds = std::vector<std::string>{*registry_id};
  const api::GetAuthorizationTokenResponse response = client.get_authorization_token(request);
  if (!response.authorizationData || response.authorizationData->empty() ||
      !response.authorizationData->front().authorizationToken) {
    throw InputError("GetAuthorizationToken returned no authorizationToken");
  }
  const api::AuthorizationData& data = response.authorizationData->front();
  std::string decoded;
  try {
    decoded = base64::decode(*data.authorizationToken);
  } catch (const InputError&) {
    // Its message quotes a character of the token: say it without.
  }
  const std::size_t colon = decoded.find(':');
  if (colon == std::string::npos || colon == 0) {
    throw InputError("GetAuthorizationToken returned a token that is not base64 of user:password");
  }
  AuthorizationToken token{decoded.substr(0, colon), decoded.substr(colon + 1), std::nullopt};
  if (data.expiresAt) token.expires_at = *data.expiresAt;
  return token;
}

int run(std::string_view action, std::istream& in, std::ostream& out, std::ostream& err,
        const HelperOptions& options) {
  try {
    return dispatch(action, in, out, err, options);
  } catch (const std::exception& e) {
    // A failure nothing above expects (out of memory, a stream error) is
    // still an answer docker can show, never a crash.
    return fail(out, err, std::string("unexpected error: ") + e.what());
  }
}

std::string usage() {
  return "Usage: docker-credential-ecr <store|get|erase|list|version>\n"
         "\n"
         "docker's credential helper for Amazon ECR registries and ecr-local, with the AWS\n"
         "credential chain (environment, ~/.aws/credentials and config, profiles,\n"
         "credential_process). Configure it in ~/.docker/config.json:\n"
         "  {\"credHelpers\": {\"123456789012.dkr.ecr.us-east-1.amazonaws.com\": \"ecr\"}}\n"
         "\n"
         "  get      read a registry server URL on stdin, print its login as JSON\n"
         "  list     print the registries with a cached token\n"
         "  store    accepted and ignored\n"
         "  erase    accepted and ignored\n"
         "  version  print the version\n"
         "\n"
         "Exit status: 0 success; 1 failure, with the message on stdout and stderr\n"
         "(\"credentials not found in native keychain\" for a registry that is not ECR).\n";
}

}  // namespace ecr::credential_helper
