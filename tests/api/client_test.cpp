// ecr::Client over a scripted transport: what goes on the wire, what never
// does, and how paginators walk nextToken.
#include <gtest/gtest.h>

#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "api/client_factory.hpp"
#include "ecr/client.hpp"
#include "http/transport.hpp"

namespace ecr {
namespace {

struct SentRequest {
  std::string method;
  std::string url;
  http::Headers headers;
  std::string body;

  std::string header(std::string_view name) const {
    const auto v = http::find_header(headers, name);
    return v ? std::string(*v) : std::string();
  }
};

// Answers each request with the next scripted response and keeps a copy of
// what was sent (Request::body is a view into the caller's buffer).
class ScriptedTransport final : public http::Transport {
 public:
  void answer(int status, std::string body) {
    const std::lock_guard lock(mutex_);
    http::Response response;
    response.status = status;
    response.headers = {{"Content-Type", "application/x-amz-json-1.1"},
                        {"x-amzn-RequestId", "req-" + std::to_string(script_.size())}};
    response.body = std::move(body);
    script_.push_back(std::move(response));
  }

  http::Response send(const http::Request& request) override {
    const std::lock_guard lock(mutex_);
    sent_.push_back({request.method, request.url, request.headers, std::string(request.body)});
    if (script_.empty()) throw TransportError("nothing scripted");
    http::Response response = std::move(script_.front());
    script_.pop_front();
    return response;
  }

  http::Response send(const http::Request& request, const http::BodySink& sink) override {
    http::Response response = send(request);
    if (response.status / 100 == 2) {
      sink(response.body);
      response.body.clear();
    }
    return response;
  }

  std::vector<SentRequest> sent() const {
    const std::lock_guard lock(mutex_);
    return sent_;
  }

 private:
  mutable std::mutex mutex_;
  std::deque<http::Response> script_;
  std::vector<SentRequest> sent_;
};

class ClientTest : public ::testing::Test {
 protected:
  ClientTest()
      : transport_(std::make_shared<ScriptedTransport>()),
        client_(api::ClientFactory::over(config(), transport_)) {}

  static ClientConfig config() {
    ClientConfig c;
    c.credentials = Credentials{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};
    c.region = "us-east-1";
    c.endpoint_url = "http://127.0.0.1:5000";
    c.max_attempts = 1;  // nothing here is retried: no backoff sleeps
    return c;
  }

  std::shared_ptr<ScriptedTransport> transport_;
  Client client_;
};

TEST_F(ClientTest, CreateRepositorySendsExactBodyAndTarget) {
  transport_->answer(200,
                     R"({"repository":{"repositoryName":"team/app",)"
                     R"("repositoryUri":"123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app",)"
                     R"("createdAt":1700000000.5,"imageTagMutability":"MUTABLE"}})");
  api::CreateRepositoryRequest request;
  request.repositoryName = "team/app";
  request.tags = std::vector<api::Tag>{{"team", "build"}};
  const auto response = client_.create_repository(request);

  const auto sent = transport_->sent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].method, "POST");
  EXPECT_EQ(sent[0].url, "http://127.0.0.1:5000/");
  EXPECT_EQ(sent[0].header("X-Amz-Target"),
            "AmazonEC2ContainerRegistry_V20150921.CreateRepository");
  EXPECT_EQ(sent[0].header("Content-Type"), "application/x-amz-json-1.1");
  EXPECT_NE(sent[0].header("Authorization").find("/us-east-1/ecr/aws4_request"), std::string::npos);
  EXPECT_EQ(sent[0].body,
            R"({"repositoryName":"team/app","tags":[{"Key":"team","Value":"build"}]})");

  ASSERT_TRUE(response.repository.has_value());
  EXPECT_EQ(response.repository->repositoryName, "team/app");
  EXPECT_EQ(response.repository->createdAt,
            api::Timestamp(std::chrono::milliseconds(1700000000500)));
  EXPECT_EQ(response.repository->imageTagMutability, "MUTABLE");
}

TEST_F(ClientTest, EmptyInputSendsEmptyObject) {
  transport_->answer(200,
                     R"({"authorizationData":[{"authorizationToken":"QVdTOnB3",)"
                     R"("proxyEndpoint":"https://123456789012.dkr.ecr.us-east-1.amazonaws.com",)"
                     R"("expiresAt":1700043200}]})");
  const auto response = client_.get_authorization_token();
  const auto sent = transport_->sent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].header("X-Amz-Target"),
            "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken");
  EXPECT_EQ(sent[0].body, "{}");
  ASSERT_TRUE(response.authorizationData.has_value());
  EXPECT_EQ((*response.authorizationData)[0].authorizationToken, "QVdTOnB3");
}

TEST_F(ClientTest, InvalidRequestSendsNothing) {
  api::CreateRepositoryRequest request;
  request.repositoryName = "Not Valid";
  EXPECT_THROW(client_.create_repository(request), api::ValidationError);
  EXPECT_THROW(client_.call_json("ListImages", "{}"), api::ValidationError);
  EXPECT_TRUE(transport_->sent().empty());
}

TEST_F(ClientTest, ErrorAnswerThrowsTheTypedError) {
  transport_->answer(400, R"({"__type":"com.amazonaws.ecr#RepositoryNotFoundException",)"
                          R"("message":"The repository with name 'app' does not exist"})");
  api::DescribeRepositoriesRequest request;
  request.repositoryNames = std::vector<std::string>{"app"};
  try {
    client_.describe_repositories(request);
    FAIL() << "no exception";
  } catch (const api::RepositoryNotFoundException& e) {
    EXPECT_EQ(e.message(), "The repository with name 'app' does not exist");
    EXPECT_EQ(e.http_status(), 400);
  }
}

TEST_F(ClientTest, CallJsonSendsTheDocumentAndReturnsTheAnswer) {
  transport_->answer(200, R"({"imageIds":[{"imageTag":"v1"}]})");
  EXPECT_EQ(client_.call_json("ListImages", R"({"repositoryName":"app"})"),
            R"({"imageIds":[{"imageTag":"v1"}]})");
  const auto sent = transport_->sent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].header("X-Amz-Target"), "AmazonEC2ContainerRegistry_V20150921.ListImages");
  EXPECT_EQ(sent[0].body, R"({"repositoryName":"app"})");
}

TEST_F(ClientTest, CallJsonTurnsAnEmptyAnswerIntoEmptyObject) {
  transport_->answer(200, "");
  EXPECT_EQ(client_.call_json("DeleteRegistryPolicy", ""), "{}");
  EXPECT_EQ(transport_->sent().at(0).body, "{}");
}

TEST_F(ClientTest, CallJsonRefusesUnknownOperationsAndBadJson) {
  EXPECT_THROW(client_.call_json("MakeCoffee", "{}"), InputError);
  EXPECT_THROW(client_.call_json("ListImages", "{\"repositoryName\":"), InputError);
  EXPECT_TRUE(transport_->sent().empty());
}

TEST_F(ClientTest, PaginatorFollowsNextTokenAcrossPages) {
  transport_->answer(200, R"({"imageIds":[{"imageTag":"a"},{"imageTag":"b"}],"nextToken":"t1"})");
  transport_->answer(200, R"({"imageIds":[{"imageTag":"c"}],"nextToken":"t2"})");
  transport_->answer(200, R"({"imageIds":[{"imageTag":"d"}]})");
  api::ListImagesRequest request;
  request.repositoryName = "app";
  request.maxResults = 2;
  std::vector<std::size_t> page_sizes;
  client_.paginate_list_images(request, [&](const api::ListImagesResponse& page) {
    page_sizes.push_back(page.imageIds ? page.imageIds->size() : 0);
    return true;
  });
  EXPECT_EQ(page_sizes, (std::vector<std::size_t>{2, 1, 1}));
  const auto sent = transport_->sent();
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_EQ(sent[0].body, R"({"maxResults":2,"repositoryName":"app"})");
  EXPECT_EQ(sent[1].body, R"({"maxResults":2,"nextToken":"t1","repositoryName":"app"})");
  EXPECT_EQ(sent[2].body, R"({"maxResults":2,"nextToken":"t2","repositoryName":"app"})");
}

TEST_F(ClientTest, PaginatorStopsWhenTheCallbackSaysSo) {
  transport_->answer(200, R"({"repositories":[],"nextToken":"t1"})");
  int pages = 0;
  client_.paginate_describe_repositories({}, [&](const api::DescribeRepositoriesResponse&) {
    ++pages;
    return false;
  });
  EXPECT_EQ(pages, 1);
  EXPECT_EQ(transport_->sent().size(), 1u);
}

TEST_F(ClientTest, AllConcatenatesTheResultKeyOfEveryPage) {
  transport_->answer(200, R"({"repositories":[{"repositoryName":"a"}],"nextToken":"t1"})");
  transport_->answer(200, R"({"repositories":[{"repositoryName":"b"}],"nextToken":"t2"})");
  transport_->answer(200, R"({"repositories":[{"repositoryName":"c"}]})");
  const auto all = client_.describe_repositories_all();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].repositoryName, "a");
  EXPECT_EQ(all[1].repositoryName, "b");
  EXPECT_EQ(all[2].repositoryName, "c");
}

TEST_F(ClientTest, AllOfScanFindingsCollectsNestedFindings) {
  transport_->answer(200,
                     R"({"imageScanFindings":{"findings":[{"name":"CVE-1"}]},"nextToken":"t"})");
  transport_->answer(200, R"({"imageScanFindings":{"findings":[{"name":"CVE-2"}]}})");
  api::DescribeImageScanFindingsRequest request;
  request.repositoryName = "app";
  request.imageId.imageTag = "v1";
  const auto findings = client_.describe_image_scan_findings_all(request);
  ASSERT_EQ(findings.size(), 2u);
  EXPECT_EQ(findings[0].name, "CVE-1");
  EXPECT_EQ(findings[1].name, "CVE-2");
}

TEST_F(ClientTest, RepeatedNextTokenStopsPaging) {
  transport_->answer(200, R"({"imageIds":[],"nextToken":"same"})");
  transport_->answer(200, R"({"imageIds":[],"nextToken":"same"})");
  api::ListImagesRequest request;
  request.repositoryName = "app";
  EXPECT_THROW(client_.list_images_all(request), InputError);
  EXPECT_EQ(transport_->sent().size(), 2u);
}

}  // namespace
}  // namespace ecr
