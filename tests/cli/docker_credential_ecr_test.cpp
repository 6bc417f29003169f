// The docker-credential-ecr binary as docker runs it, against ecr-local on a
// loopback port the kernel picks: logins, the token cache on disk, and what
// reaches stdout and stderr.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <mutex>

#include "cli/credential_helper_support.hpp"
#include "core/base64.hpp"
#include "core/json_reader.hpp"
#include "http/local_server.hpp"
#include "support/ecr_local_server.hpp"
#include "support/subprocess.hpp"

namespace ecr::credential_helper {
namespace {

using ecr::testing::cache_entries;
using ecr::testing::EcrLocalServer;
using ecr::testing::file_mode;
using ecr::testing::ProcessOptions;
using ecr::testing::ProcessResult;
using ecr::testing::read_file;
using ecr::testing::ScratchDir;
using ecr::testing::write_file;
using ::testing::HasSubstr;
using ::testing::Not;

const std::string kHelperBinary =
    std::string(ECR_BINARY_DIR) + "/tools/docker-credential-ecr/docker-credential-ecr";
constexpr const char* kNotFound = "credentials not found in native keychain\n";

// Between the helper and ecr-local, keeping every response body, so a test
// can decode the token ecr-local handed out. The Host header and the
// signature headers go upstream unchanged, so ecr-local verifies the
// signature the helper made for the proxy's host.
class RecordingProxy {
 public:
  explicit RecordingProxy(int upstream_port)
      : server_([this, upstream_port](httplib::Server& s) {
          s.Post("/", [this, upstream_port](const httplib::Request& req, httplib::Response& res) {
            forward(upstream_port, req, res);
          });
        }) {}

  std::string host() const { return "127.0.0.1:" + std::to_string(server_.port()); }
  std::vector<std::string> responses() const {
    const std::lock_guard lock(mutex_);
    return responses_;
  }

 private:
  void forward(int upstream_port, const httplib::Request& req, httplib::Response& res) {
    httplib::Headers headers;
    for (const auto& [name, value] : req.headers) {
      std::string lower = name;
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (lower == "host" || lower == "authorization" || lower.starts_with("x-amz")) {
        headers.emplace(name, value);
      }
    }
    httplib::Client upstream("127.0.0.1", upstream_port);
    const auto answer = upstream.Post("/", headers, req.body, req.get_header_value("Content-Type"));
    if (!answer) {
      res.status = 502;
      return;
    }
    {
      const std::lock_guard lock(mutex_);
      responses_.push_back(answer->body);
    }
    res.status = answer->status;
    res.set_content(answer->body, answer->get_header_value("Content-Type"));
  }

  mutable std::mutex mutex_;
  std::vector<std::string> responses_;
  ecr::testing::LocalServer server_;  // last: its thread stops before the rest goes
};

struct Login {
  std::string server_url;
  std::string username;
  std::string secret;
};

Login parse_login(const std::string& json_text) {
  const simdjson::dom::element doc = json::parse(json::thread_parser(), json_text, "login");
  return {std::string(doc["ServerURL"].get_string().value()),
          std::string(doc["Username"].get_string().value()),
          std::string(doc["Secret"].get_string().value())};
}

// The password inside a GetAuthorizationToken response: base64 of "AWS:<password>".
std::string password_in(const std::string& response_json) {
  const simdjson::dom::element doc =
      json::parse(json::thread_parser(), response_json, "GetAuthorizationToken response");
  const std::string token =
      base64::decode(doc["authorizationData"].at(0)["authorizationToken"].get_string().value());
  EXPECT_TRUE(token.starts_with("AWS:")) << token;
  return token.substr(4);
}

std::string cache_entry(const std::string& server, const std::string& password,
                        std::int64_t expires_at) {
  return "{\"version\":1,\"server\":\"" + server + "\",\"username\":\"AWS\",\"password\":\"" +
         password + "\",\"expiresAt\":" + std::to_string(expires_at) + "}\n";
}

std::int64_t seconds_from_now(std::int64_t seconds) {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
             .count() +
         seconds;
}

class DockerCredentialEcr : public ::testing::Test {
 protected:
  // The helper as docker runs it: one action, input on stdin, ecr-local's
  // credentials and region, the endpoint `endpoint`, the cache in scratch.
  ProcessResult helper(std::vector<std::string> args, const std::string& input,
                       const std::string& endpoint,
                       std::map<std::string, std::optional<std::string>> env = {}) const {
    ProcessOptions options;
    options.argv = {kHelperBinary};
    options.argv.insert(options.argv.end(), args.begin(), args.end());
    options.env = EcrLocalServer::tool_env();
    options.env["AWS_ENDPOINT_URL_ECR"] = endpoint;
    options.env["XDG_CACHE_HOME"] = scratch_.path().string();
    for (auto& [name, value] : env) options.env[name] = value;
    return ecr::testing::run_process(options, std::chrono::seconds(60), input);
  }
  ProcessResult get(const std::string& server_url, const std::string& endpoint,
                    std::map<std::string, std::optional<std::string>> env = {}) const {
    return helper({"get"}, server_url + "\n", endpoint, std::move(env));
  }
  std::filesystem::path cache_dir() const { return scratch_.path() / "ecr" / "credentials"; }
  // The one cache entry there must be.
  std::filesystem::path only_entry() const {
    const auto entries = cache_entries(cache_dir());
    EXPECT_EQ(entries.size(), 1u);
    return entries.empty() ? cache_dir() / "missing.json" : entries.front();
  }

  ScratchDir scratch_;
};

TEST_F(DockerCredentialEcr, GetAnswersAwsAndThePasswordOfTheTokenEcrLocalIssued) {
  EcrLocalServer server;
  RecordingProxy proxy(server.port());
  const ProcessResult r = get(proxy.host(), "http://" + proxy.host());
  ASSERT_EQ(r.exit_status, 0) << r.stdout_text << r.stderr_text;
  const Login login = parse_login(r.stdout_text);
  EXPECT_EQ(login.server_url, proxy.host());
  EXPECT_EQ(login.username, "AWS");
  const auto responses = proxy.responses();
  ASSERT_EQ(responses.size(), 1u);
  EXPECT_EQ(login.secret, password_in(responses[0]));
  EXPECT_FALSE(login.secret.empty());
  EXPECT_EQ(r.stderr_text, "");
}

TEST_F(DockerCredentialEcr, SecondGetIsServedFromTheCacheEvenWithTheServerStopped) {
  EcrLocalServer server;
  const std::string host = "127.0.0.1:" + std::to_string(server.port());
  const ProcessResult first = get(host, server.endpoint_url());
  ASSERT_EQ(first.exit_status, 0) << first.stdout_text;
  const std::string secret = parse_login(first.stdout_text).secret;
  EXPECT_EQ(file_mode(only_entry()), 0600u);
  EXPECT_EQ(file_mode(cache_dir()), 0700u);
  EXPECT_EQ(server.requests("GetAuthorizationToken"), 1);
  ASSERT_EQ(server.stop(), 0) << server.log();

  const ProcessResult second = get("http://" + host + "/v2/", server.endpoint_url());
  ASSERT_EQ(second.exit_status, 0) << second.stdout_text;
  EXPECT_EQ(parse_login(second.stdout_text).secret, secret);
  EXPECT_EQ(second.stderr_text, "");
}

TEST_F(DockerCredentialEcr, ExpiredCacheEntryIsRefreshed) {
  EcrLocalServer server;
  const std::string host = "127.0.0.1:" + std::to_string(server.port());
  ASSERT_EQ(get(host, server.endpoint_url()).exit_status, 0);
  write_file(only_entry(), cache_entry(host, "stale-password", seconds_from_now(-60)));

  const ProcessResult r = get(host, server.endpoint_url());
  ASSERT_EQ(r.exit_status, 0) << r.stdout_text;
  const std::string secret = parse_login(r.stdout_text).secret;
  EXPECT_NE(secret, "stale-password");
  EXPECT_EQ(server.requests("GetAuthorizationToken"), 2);
  EXPECT_THAT(read_file(only_entry()), HasSubstr("\"password\":\"" + secret + "\""));
}

TEST_F(DockerCredentialEcr, CorruptCacheFileIsIgnoredAndReplaced) {
  EcrLocalServer server;
  const std::string host = "127.0.0.1:" + std::to_string(server.port());
  ASSERT_EQ(get(host, server.endpoint_url()).exit_status, 0);
  const std::filesystem::path entry = only_entry();
  write_file(entry, "{\"version\":1,\"password\":");

  const ProcessResult r = get(host, server.endpoint_url());
  ASSERT_EQ(r.exit_status, 0) << r.stdout_text << r.stderr_text;
  EXPECT_EQ(server.requests("GetAuthorizationToken"), 2);
  EXPECT_EQ(only_entry(), entry);
  EXPECT_THAT(read_file(entry),
              HasSubstr("\"password\":\"" + parse_login(r.stdout_text).secret + "\""));
  EXPECT_EQ(file_mode(entry), 0600u);
}

TEST_F(DockerCredentialEcr, HostsThatAreNotEcrAreTheProtocolsNotFound) {
  EcrLocalServer server;
  for (const std::string& server_url :
       {std::string("docker.io"), std::string("https://index.docker.io/v1/"),
        std::string("public.ecr.aws"), "localhost:" + std::to_string(server.port())}) {
    const ProcessResult r = get(server_url, server.endpoint_url());
    EXPECT_EQ(r.exit_status, 1) << server_url;
    EXPECT_EQ(r.stdout_text, kNotFound) << server_url;
  }
  EXPECT_EQ(server.requests("GetAuthorizationToken"), 0);
}

TEST_F(DockerCredentialEcr, ListStoreEraseAndVersion) {
  EcrLocalServer server;
  const std::string host = "127.0.0.1:" + std::to_string(server.port());
  EXPECT_EQ(helper({"list"}, "", server.endpoint_url()).stdout_text, "{}\n");
  ASSERT_EQ(get(host, server.endpoint_url()).exit_status, 0);
  const ProcessResult list = helper({"list"}, "", server.endpoint_url());
  EXPECT_EQ(list.exit_status, 0);
  EXPECT_EQ(list.stdout_text, "{\"" + host + "\":\"AWS\"}\n");

  const ProcessResult store =
      helper({"store"}, "{\"ServerURL\":\"" + host + "\",\"Username\":\"AWS\",\"Secret\":\"s\"}\n",
             server.endpoint_url());
  EXPECT_EQ(store.exit_status, 0);
  EXPECT_EQ(store.stdout_text, "");
  const ProcessResult erase = helper({"erase"}, host + "\n", server.endpoint_url());
  EXPECT_EQ(erase.exit_status, 0);
  EXPECT_EQ(erase.stdout_text, "");
  // Erase forgets nothing: the cached token still answers.
  EXPECT_EQ(helper({"list"}, "", server.endpoint_url()).stdout_text, list.stdout_text);

  const ProcessResult version = helper({"version"}, "", server.endpoint_url());
  EXPECT_EQ(version.exit_status, 0);
  EXPECT_EQ(version.stdout_text, "docker-credential-ecr " ECR_VERSION "\n");
  const ProcessResult no_action = helper({}, "", server.endpoint_url());
  EXPECT_EQ(no_action.exit_status, 1);
  EXPECT_THAT(no_action.stdout_text, HasSubstr("Usage: docker-credential-ecr"));
}

TEST_F(DockerCredentialEcr, StderrNeverHoldsTheSecret) {
  EcrLocalServer server;
  const std::string host = "127.0.0.1:" + std::to_string(server.port());
  const ProcessResult first = get(host, server.endpoint_url());
  ASSERT_EQ(first.exit_status, 0);
  const std::string secret = parse_login(first.stdout_text).secret;
  ASSERT_EQ(server.stop(), 0) << server.log();

  // Within the refresh margin, the server gone: the cached token, with a warning.
  write_file(only_entry(), cache_entry(host, secret, seconds_from_now(300)));
  const ProcessResult warned = get(host, server.endpoint_url());
  EXPECT_EQ(warned.exit_status, 0);
  EXPECT_EQ(parse_login(warned.stdout_text).secret, secret);
  EXPECT_THAT(warned.stderr_text, HasSubstr("warning: could not refresh the token for " + host));
  EXPECT_THAT(warned.stderr_text, Not(HasSubstr(secret)));

  // Expired and the server gone: an error naming the host, without the secret.
  write_file(only_entry(), cache_entry(host, secret, seconds_from_now(-1)));
  const ProcessResult failed = get(host, server.endpoint_url());
  EXPECT_EQ(failed.exit_status, 1);
  EXPECT_THAT(failed.stdout_text, HasSubstr("no token for " + host));
  EXPECT_THAT(failed.stderr_text, HasSubstr("docker-credential-ecr: no token for " + host));
  EXPECT_THAT(failed.stdout_text + failed.stderr_text, Not(HasSubstr(secret)));
}

TEST_F(DockerCredentialEcr, RefusedCredentialsNameHostAndAwsCodeOnly) {
  EcrLocalServer server;
  const std::string host = "127.0.0.1:" + std::to_string(server.port());
  const std::string wrong_secret = "wrong-secret-access-key-value";
  const ProcessResult r =
      get(host, server.endpoint_url(), {{"AWS_SECRET_ACCESS_KEY", wrong_secret}});
  EXPECT_EQ(r.exit_status, 1);
  const std::string message =
      "GetAuthorizationToken for " + host + " failed: InvalidSignatureException: ";
  EXPECT_THAT(r.stdout_text, HasSubstr(message));
  EXPECT_THAT(r.stderr_text, HasSubstr("docker-credential-ecr: " + message));
  EXPECT_THAT(r.stdout_text + r.stderr_text, Not(HasSubstr(wrong_secret)));
  EXPECT_TRUE(cache_entries(cache_dir()).empty());
}

}  // namespace
}  // namespace ecr::credential_helper
