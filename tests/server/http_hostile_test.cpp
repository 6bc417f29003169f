// ecr-local's HTTP listener against clients that misbehave: malformed and
// oversized requests, bodies cut short, slow headers, pipelining, a client
// that leaves mid-response, and a thousand connections that never finish
// their header while a normal client goes about its business. Raw sockets,
// so the bytes on the wire are exactly the ones written here.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ecr/client.hpp"
#include "ecr/digest.hpp"
#include "server/layer_upload_support.hpp"
#include "support/ecr_local_server.hpp"
#include "support/raw_connection.hpp"

namespace ecr {
namespace {

using testing::upload_blob;
// How long a test waits for an answer before it counts as failed: generous,
// a failure bound and not a speed claim (bench/server measures latency).
constexpr std::chrono::seconds kFailureBound{20};

using testing::RawConnection;
using testing::RawResponse;

std::string describe_repositories_head(std::size_t content_length) {
  return "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-amz-json-1.1\r\n"
         "X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.DescribeRepositories\r\n"
         "Content-Length: " +
         std::to_string(content_length) + "\r\n\r\n";
}

ClientConfig client_config(const testing::EcrLocalServer& server) {
  ClientConfig c;
  c.credentials =
      Credentials{testing::EcrLocalServer::kAccessKey, testing::EcrLocalServer::kSecretKey, ""};
  c.region = testing::EcrLocalServer::kRegion;
  c.endpoint_url = server.endpoint_url();
  c.max_attempts = 1;
  return c;
}

void expect_error(const std::optional<RawResponse>& response, int status, const std::string& name) {
  ASSERT_TRUE(response.has_value()) << "no response";
  EXPECT_EQ(response->status, status);
  EXPECT_EQ(response->headers.at("x-amzn-errortype"), name);
  EXPECT_NE(response->body.find("\"__type\":\"" + name + "\""), std::string::npos)
      << response->body;
  EXPECT_FALSE(response->headers.at("x-amzn-requestid").empty());
}

class HostileHttp : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = std::make_unique<testing::EcrLocalServer>(
        std::vector<std::string>{"--header-timeout", "1"});
  }
  static void TearDownTestSuite() {
    const int status = server_->stop();
    EXPECT_EQ(status, 0) << "ecr-local exited with " << status << "; log:\n" << server_->log();
    server_.reset();
  }
  // After each test the server still answers a normal call.
  void TearDown() override {
    Client client(client_config(*server_));
    EXPECT_NO_THROW(client.describe_repositories()) << server_->log();
  }

  static std::unique_ptr<testing::EcrLocalServer> server_;
};

std::unique_ptr<testing::EcrLocalServer> HostileHttp::server_;

TEST_F(HostileHttp, MalformedRequestLineIsBadRequest400) {
  RawConnection c(server_->port());
  ASSERT_TRUE(c.connected());
  c.send("THIS IS NOT HTTP\r\n\r\n");
  expect_error(c.read_response(), 400, "BadRequestException");
  EXPECT_TRUE(c.closed_by_server());
}

TEST_F(HostileHttp, HeaderOverTheLimitIs431) {
  RawConnection c(server_->port());
  ASSERT_TRUE(c.connected());
  c.send("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: " + std::string(40 * 1024, 'a') +
         "\r\n\r\n");
  expect_error(c.read_response(), 431, "BadRequestException");
}

TEST_F(HostileHttp, BodyEndingBeforeItsContentLengthIsBadRequest400) {
  RawConnection c(server_->port());
  ASSERT_TRUE(c.connected());
  c.send(describe_repositories_head(100) + "{\"maxResults\":");
  c.end_sending();
  auto response = c.read_response();
  expect_error(response, 400, "BadRequestException");
  EXPECT_NE(response->body.find("before the request body was complete"), std::string::npos);
  EXPECT_TRUE(c.closed_by_server());
}

TEST_F(HostileHttp, ContentLengthOverTheLimitIs413BeforeAnyBody) {
  RawConnection c(server_->port());
  ASSERT_TRUE(c.connected());
  c.send(describe_repositories_head(30'000'000));
  expect_error(c.read_response(), 413, "RequestEntityTooLargeException");
  EXPECT_TRUE(c.closed_by_server());
}

TEST_F(HostileHttp, UnknownPathIsNotFound404AndKeepsTheConnection) {
  RawConnection c(server_->port());
  ASSERT_TRUE(c.connected());
  c.send("GET /nothing/here HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  expect_error(c.read_response(), 404, "NotFoundException");
  c.send("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  auto health = c.read_response();
  ASSERT_TRUE(health.has_value());
  EXPECT_EQ(health->status, 200);
}

TEST_F(HostileHttp, HeaderThatNeverEndsIsClosedAfterTheHeaderTimeout) {
  RawConnection c(server_->port());
  ASSERT_TRUE(c.connected());
  c.send("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ");  // and nothing more
  EXPECT_TRUE(c.closed_by_server());  // --header-timeout 1; bounded by kFailureBound
}

TEST_F(HostileHttp, PipelinedRequestsAreAnsweredInOrder) {
  RawConnection c(server_->port());
  ASSERT_TRUE(c.connected());
  c.send(
      "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
      "GET /missing HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" +
      describe_repositories_head(2) + "{}" + "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  auto first = c.read_response();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->status, 200);
  EXPECT_EQ(first->body, "{\"status\":\"ok\"}");
  expect_error(c.read_response(), 404, "NotFoundException");
  expect_error(c.read_response(), 403, "MissingAuthenticationTokenException");  // unsigned
  auto last = c.read_response();
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->status, 200);
}

TEST_F(HostileHttp, ChunkedBodyIsReadWhole) {
  RawConnection c(server_->port());
  ASSERT_TRUE(c.connected());
  c.send(
      "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-amz-json-1.1\r\n"
      "X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.DescribeRepositories\r\n"
      "Transfer-Encoding: chunked\r\n\r\n1\r\n{\r\n1\r\n}\r\n0\r\n\r\n");
  // Unsigned, so refused after the body was read: the connection stays usable.
  expect_error(c.read_response(), 403, "MissingAuthenticationTokenException");
  c.send("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  auto health = c.read_response();
  ASSERT_TRUE(health.has_value());
  EXPECT_EQ(health->status, 200);
}

TEST_F(HostileHttp, ChunkedBodyOverTheLimitIs413) {
  RawConnection c(server_->port());
  ASSERT_TRUE(c.connected());
  c.send(
      "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-amz-json-1.1\r\n"
      "X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.DescribeRepositories\r\n"
      "Transfer-Encoding: chunked\r\n\r\n");
  const std::string chunk = "100000\r\n" + std::string(1u << 20, ' ') + "\r\n";  // 1 MiB
  for (int i = 0; i < 29 && c.send(chunk); ++i) {
  }
  expect_error(c.read_response(), 413, "RequestEntityTooLargeException");
}

TEST_F(HostileHttp, ClientLeavingMidDownloadDoesNotDisturbTheServer) {
  Client client(client_config(*server_));
  api::CreateRepositoryRequest create;
  create.repositoryName = "leaver";
  client.create_repository(create);
  const std::string config = R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers"}})";
  const std::string layer(16u << 20, 'x');
  const std::string config_digest = upload_blob(client, "leaver", config);
  const std::string layer_digest = upload_blob(client, "leaver", layer);
  api::PutImageRequest put;
  put.repositoryName = "leaver";
  put.imageTag = "v1";
  put.imageManifest =
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
      R"("config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
      config_digest + R"(","size":)" + std::to_string(config.size()) +
      R"(},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":")" +
      layer_digest + R"(","size":)" + std::to_string(layer.size()) + "}]}";
  client.put_image(put);
  api::GetDownloadUrlForLayerRequest url_request;
  url_request.repositoryName = "leaver";
  url_request.layerDigest = layer_digest;
  const std::string url = client.get_download_url_for_layer(url_request).downloadUrl.value();
  const std::string target = url.substr(url.find('/', std::string("http://").size()));

  {
    RawConnection leaver(server_->port());
    ASSERT_TRUE(leaver.connected());
    leaver.send("GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    EXPECT_GT(leaver.read_some(), 0u);
  }  // closed with most of the 16 MiB unread

  RawConnection reader(server_->port());
  ASSERT_TRUE(reader.connected());
  reader.send("GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nRange: bytes=1-10\r\n\r\n");
  auto ranged = reader.read_response();
  ASSERT_TRUE(ranged.has_value());
  EXPECT_EQ(ranged->status, 206);
  EXPECT_EQ(ranged->headers["content-range"], "bytes 1-10/16777216");
  EXPECT_EQ(ranged->body, std::string(10, 'x'));
}

// The thousand connections stay open (the server's header timeout is its
// default 30 s) while a signed call goes through: none of them holds
// anything the call needs.
// Under --no-auth, so the request reaches the operation: GetAuthorizationToken
// builds proxyEndpoint from Host, and a Host byte outside ASCII made its
// answer a JSON document of invalid UTF-8 (found by fuzz/aws_json_fuzz).
std::string authorization_token_request(std::string_view host) {
  return "POST / HTTP/1.1\r\nHost: " + std::string(host) +
         "\r\nContent-Type: application/x-amz-json-1.1\r\n"
         "X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken\r\n"
         "Content-Length: 2\r\n\r\n{}";
}

TEST(HostHeader, HostThatIsNotAnAuthorityIsBadRequest400) {
  testing::EcrLocalServer server({"--no-auth"});
  RawConnection c(server.port());
  ASSERT_TRUE(c.connected());
  c.send(authorization_token_request("127.0.0.1\xd0:5000"));
  auto response = c.read_response();
  expect_error(response, 400, "BadRequestException");
  EXPECT_NE(response->body.find("The Host header is not a host[:port] authority"),
            std::string::npos)
      << response->body;
  // Refused from the header, before its body: the connection closes after.
  RawConnection quote(server.port());
  ASSERT_TRUE(quote.connected());
  quote.send(authorization_token_request("evil\"host"));
  expect_error(quote.read_response(), 400, "BadRequestException");
  EXPECT_EQ(server.stop(), 0) << server.log();
}

TEST(HostHeader, NameAndIpLiteralHostsAreServed) {
  testing::EcrLocalServer server({"--no-auth"});
  RawConnection c(server.port());
  ASSERT_TRUE(c.connected());
  for (const std::string host : {"localhost:5000", "[::1]:5000", "registry.example.com"}) {
    c.send(authorization_token_request(host));
    auto response = c.read_response();
    ASSERT_TRUE(response.has_value());
    EXPECT_EQ(response->status, 200) << response->body;
    EXPECT_NE(response->body.find("\"proxyEndpoint\":\"http://" + host + "\""), std::string::npos)
        << response->body;
  }
  EXPECT_EQ(server.stop(), 0) << server.log();
}

TEST(ManySlowConnections, ThousandHalfHeadersDoNotKeepANormalCallWaiting) {
  constexpr int kSlow = 1000;
  rlimit limit{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &limit), 0);
  if (limit.rlim_cur < kSlow + 200) {
    limit.rlim_cur = std::min<rlim_t>(limit.rlim_max, kSlow + 200);
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &limit), 0);
  }
  ASSERT_GE(limit.rlim_cur, static_cast<rlim_t>(kSlow + 100)) << "RLIMIT_NOFILE hard limit too low";

  testing::EcrLocalServer server;
  std::vector<std::unique_ptr<RawConnection>> slow;
  for (int i = 0; i < kSlow; ++i) {
    slow.push_back(std::make_unique<RawConnection>(server.port()));
    ASSERT_TRUE(slow.back()->connected()) << "connection " << i;
    ASSERT_TRUE(slow.back()->send("POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Tar"));
  }

  Client client(client_config(server));
  api::CreateRepositoryRequest create;
  create.repositoryName = "busy";
  client.create_repository(create);
  auto call = std::async(std::launch::async, [&client] { return client.describe_repositories(); });
  ASSERT_EQ(call.wait_for(kFailureBound), std::future_status::ready) << server.log();
  const api::DescribeRepositoriesResponse answer = call.get();
  ASSERT_EQ(answer.repositories.value().size(), 1u);
  EXPECT_EQ(answer.repositories.value()[0].repositoryName.value(), "busy");

  slow.clear();
  EXPECT_EQ(server.stop(), 0) << server.log();
}

}  // namespace
}  // namespace ecr
