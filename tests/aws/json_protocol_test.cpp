// The awsJson1_1 client against a scripted transport: what goes on the wire,
// how error answers are decoded, what is retried.
#include "aws/json_protocol.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "aws/sigv4.hpp"
#include "ecr/error.hpp"

namespace ecr::aws {
namespace {

using std::chrono::milliseconds;

// Plays back scripted answers (a response or a transport failure) and records
// every request as sent.
class ScriptedTransport final : public http::Transport {
 public:
  struct Sent {
    std::string method;
    std::string url;
    http::Headers headers;
    std::string body;
  };

  void answer(int status, std::string body, http::Headers headers = {}) {
    script_.emplace_back(http::Response{status, std::move(headers), std::move(body)});
  }
  void fail(TransportError error) { script_.emplace_back(std::move(error)); }

  http::Response send(const http::Request& request) override {
    sent.push_back(Sent{request.method, request.url, request.headers, std::string(request.body)});
    if (script_.empty()) throw std::logic_error("unscripted request");
    auto step = std::move(script_.front());
    script_.pop_front();
    if (auto* error = std::get_if<TransportError>(&step)) throw *error;
    return std::get<http::Response>(std::move(step));
  }
  http::Response send(const http::Request&, const http::BodySink&) override {
    throw std::logic_error("the JSON protocol never streams");
  }

  std::vector<Sent> sent;

 private:
  std::deque<std::variant<http::Response, TransportError>> script_;
};

// What the API layer's thrower would make of one modeled error.
class RepositoryNotFound : public ServiceError {
  using ServiceError::ServiceError;
};

struct ThrownError {
  std::string name, message, request_id, body;
  int status = 0;
};

constexpr const char* kSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
constexpr const char* kToken = "FQoGZXIvYXdzEXAMPLESESSIONTOKEN";

class JsonProtocolTest : public ::testing::Test {
 protected:
  JsonProtocolTest()
      : transport_(std::make_shared<ScriptedTransport>()),
        retry_(std::make_shared<RetryPolicy>(
            RetryOptions{3, [this](milliseconds d) { sleeps_.push_back(d); }, [] { return 0.5; }})),
        client_(
            transport_, config(), {"AmazonEC2ContainerRegistry_V20150921", "ecr"},
            [this](const std::string& name, const std::string& message, int status,
                   const std::string& request_id, std::string_view body) {
              thrown_ = ThrownError{name, message, request_id, std::string(body), status};
              if (name == "RepositoryNotFoundException") {
                throw RepositoryNotFound(name, message, status, request_id);
              }
              throw ServiceError(name, message, status, request_id);
            },
            retry_, [this](const std::string& line) { debug_.push_back(line); }) {
    // 2024-01-02T03:04:05Z, one second later on each signature.
    client_.set_signing_clock([this] {
      return std::chrono::system_clock::time_point(std::chrono::seconds(1704164645 + ticks_++));
    });
  }

  static ResolvedConfig config() {
    ResolvedConfig config;
    config.credentials = {"AKIDEXAMPLE", kSecret, kToken};
    config.region = "us-west-2";
    config.endpoint_url = "http://127.0.0.1:5000";
    config.profile = "default";
    return config;
  }

  static std::string header(const ScriptedTransport::Sent& sent, std::string_view name) {
    auto value = http::find_header(sent.headers, name);
    return value ? std::string(*value) : "<absent>";
  }

  std::shared_ptr<ScriptedTransport> transport_;
  std::vector<milliseconds> sleeps_;
  std::shared_ptr<RetryPolicy> retry_;
  std::optional<ThrownError> thrown_;
  std::vector<std::string> debug_;
  int ticks_ = 0;
  JsonProtocolClient client_;
};

TEST_F(JsonProtocolTest, PostsSignedJsonToTheOperationTarget) {
  transport_->answer(200, R"({"repositories":[]})");

  std::string result = client_.call("DescribeRepositories", "{}");

  EXPECT_EQ(result, R"({"repositories":[]})");
  ASSERT_EQ(transport_->sent.size(), 1u);
  const auto& sent = transport_->sent[0];
  EXPECT_EQ(sent.method, "POST");
  EXPECT_EQ(sent.url, "http://127.0.0.1:5000/");
  EXPECT_EQ(sent.body, "{}");
  EXPECT_EQ(header(sent, "Content-Type"), "application/x-amz-json-1.1");
  EXPECT_EQ(header(sent, "X-Amz-Target"),
            "AmazonEC2ContainerRegistry_V20150921.DescribeRepositories");
  EXPECT_EQ(header(sent, "X-Amz-Date"), "20240102T030405Z");
  EXPECT_EQ(header(sent, "X-Amz-Security-Token"), kToken);
  EXPECT_EQ(
      header(sent, "Authorization")
          .rfind("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240102/us-west-2/ecr/aws4_request, ",
                 0),
      0u)
      << header(sent, "Authorization");
}

TEST_F(JsonProtocolTest, SignatureVerifiesOnTheServerSide) {
  transport_->answer(200, "{}");
  client_.call("ListImages", R"({"repositoryName":"app"})");

  const auto& sent = transport_->sent.at(0);
  http::Headers received = sent.headers;
  received.emplace_back("Host", "127.0.0.1:5000");  // what libcurl adds from the URL
  VerifyResult result = verify_headers(
      "POST", "/", received, sent.body,
      [](std::string_view key) -> std::optional<std::string> {
        if (key == "AKIDEXAMPLE") return std::string(kSecret);
        return std::nullopt;
      },
      std::chrono::system_clock::time_point(std::chrono::seconds(1704164645)));
  EXPECT_TRUE(result.ok()) << result.message;
}

TEST_F(JsonProtocolTest, NamespacedErrorTypeIsStrippedAndNotRetried) {
  const std::string body =
      R"({"__type":"com.amazonaws.ecr#RepositoryNotFoundException",)"
      R"("message":"The repository with name 'app' does not exist in the registry with id '123456789012'"})";
  transport_->answer(400, body, {{"x-amzn-RequestId", "req-1"}});

  try {
    client_.call("DescribeRepositories", R"({"repositoryNames":["app"]})");
    FAIL() << "expected RepositoryNotFound";
  } catch (const RepositoryNotFound& error) {
    EXPECT_EQ(error.name(), "RepositoryNotFoundException");
    EXPECT_EQ(error.request_id(), "req-1");
  }
  ASSERT_TRUE(thrown_);
  EXPECT_EQ(thrown_->name, "RepositoryNotFoundException");
  EXPECT_EQ(thrown_->message,
            "The repository with name 'app' does not exist in the registry with id "
            "'123456789012'");
  EXPECT_EQ(thrown_->status, 400);
  EXPECT_EQ(thrown_->body, body);
  EXPECT_EQ(transport_->sent.size(), 1u);
  EXPECT_TRUE(sleeps_.empty());
}

TEST_F(JsonProtocolTest, ErrorTypeWithColonSuffixIsStripped) {
  transport_->answer(
      400,
      R"({"__type":"InvalidParameterException:http://internal.amazon.com/coral/com.amazon.coral.validate/","Message":"bad"})");

  EXPECT_THROW(client_.call("ListImages", "{}"), ServiceError);
  ASSERT_TRUE(thrown_);
  EXPECT_EQ(thrown_->name, "InvalidParameterException");
  EXPECT_EQ(thrown_->message, "bad");
}

TEST_F(JsonProtocolTest, ErrorTypeFromHeaderWhenTheBodyHasNone) {
  transport_->answer(404, R"({"message":"no image"})",
                     {{"X-Amzn-ErrorType", "ImageNotFoundException:http://internal.amazon.com/"},
                      {"X-Amzn-RequestId", "req-2"}});

  EXPECT_THROW(client_.call("BatchGetImage", "{}"), ServiceError);
  ASSERT_TRUE(thrown_);
  EXPECT_EQ(thrown_->name, "ImageNotFoundException");
  EXPECT_EQ(thrown_->message, "no image");
  EXPECT_EQ(thrown_->request_id, "req-2");
  EXPECT_EQ(thrown_->status, 404);
}

TEST_F(JsonProtocolTest, ThrottlingIsRetriedWithBackoffAndFreshSignatures) {
  transport_->answer(400, R"({"__type":"ThrottlingException","message":"Rate exceeded"})");
  transport_->answer(200, R"({"imageIds":[]})");

  EXPECT_EQ(client_.call("ListImages", "{}"), R"({"imageIds":[]})");

  ASSERT_EQ(transport_->sent.size(), 2u);
  EXPECT_EQ(sleeps_, std::vector<milliseconds>{milliseconds(500)});
  EXPECT_EQ(header(transport_->sent[0], "X-Amz-Date"), "20240102T030405Z");
  EXPECT_EQ(header(transport_->sent[1], "X-Amz-Date"), "20240102T030406Z");
  EXPECT_NE(header(transport_->sent[0], "Authorization"),
            header(transport_->sent[1], "Authorization"));
  int authorizations = 0;
  for (const auto& [name, value] : transport_->sent[1].headers) {
    authorizations += name == "Authorization";
  }
  EXPECT_EQ(authorizations, 1);
  EXPECT_EQ(retry_->available_quota(), 500);  // the retry's 5 tokens came back
}

TEST_F(JsonProtocolTest, ServerExceptionIsRetriedUntilAttemptsRunOut) {
  for (int i = 0; i < 3; ++i) {
    transport_->answer(500, R"({"__type":"ServerException","message":"internal"})");
  }

  try {
    client_.call("ListImages", "{}");
    FAIL() << "expected ServerException";
  } catch (const ServiceError& error) {
    EXPECT_EQ(error.name(), "ServerException");
    EXPECT_EQ(error.http_status(), 500);
  }
  EXPECT_EQ(transport_->sent.size(), 3u);
  EXPECT_EQ(sleeps_, (std::vector<milliseconds>{milliseconds(500), milliseconds(1000)}));
}

TEST_F(JsonProtocolTest, ThrottlingThatOutlastsTheAttemptsNamesTheOperation) {
  for (int i = 0; i < 3; ++i) {
    transport_->answer(400, R"({"__type":"ThrottlingException","message":"Rate exceeded"})");
  }

  try {
    client_.call("PutImage", "{}");
    FAIL() << "expected ThrottlingException";
  } catch (const ServiceError& error) {
    EXPECT_EQ(error.name(), "ThrottlingException");
    EXPECT_EQ(error.message(), "Rate exceeded");
    EXPECT_EQ(error.operation(), "PutImage");
    EXPECT_EQ(error.attempts(), 3);
    EXPECT_TRUE(error.throttled());
    EXPECT_EQ(std::string(error.what()),
              "PutImage was throttled by the registry (ThrottlingException: Rate exceeded) "
              "after 3 attempts");
  }
  // Backoff with full jitter (the draw is 0.5): half of 1 s, then of 2 s.
  EXPECT_EQ(sleeps_, (std::vector<milliseconds>{milliseconds(500), milliseconds(1000)}));
}

TEST_F(JsonProtocolTest, AQuotaExceededIsRetriedButNotCalledThrottled) {
  for (int i = 0; i < 3; ++i) {
    transport_->answer(400, R"({"__type":"LimitExceededException","message":"too many images"})");
  }

  try {
    client_.call("PutImage", "{}");
    FAIL() << "expected LimitExceededException";
  } catch (const ServiceError& error) {
    EXPECT_EQ(error.attempts(), 3);
    EXPECT_FALSE(error.throttled());
    EXPECT_EQ(std::string(error.what()), "LimitExceededException: too many images");
  }
}

TEST_F(JsonProtocolTest, AnErrorKeepsItsTypeAndTellsItsCall) {
  transport_->answer(400, R"({"__type":"RepositoryNotFoundException","message":"no repo"})");

  try {
    client_.call("DescribeImages", "{}");
    FAIL() << "expected RepositoryNotFound";
  } catch (const RepositoryNotFound& error) {
    EXPECT_EQ(error.operation(), "DescribeImages");
    EXPECT_EQ(error.attempts(), 1);
    EXPECT_EQ(std::string(error.what()), "RepositoryNotFoundException: no repo");
  }
}

TEST_F(JsonProtocolTest, HtmlBadGatewayIsNamedByStatusAndRetried) {
  const std::string page = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n</html>";
  for (int i = 0; i < 3; ++i) transport_->answer(502, page, {{"Content-Type", "text/html"}});

  try {
    client_.call("ListImages", "{}");
    FAIL() << "expected HTTP 502";
  } catch (const ServiceError& error) {
    EXPECT_EQ(error.name(), "HTTP 502");
    EXPECT_EQ(error.http_status(), 502);
    EXPECT_EQ(error.message(), "<html>  <head><title>502 Bad Gateway</title></head>  </html>");
  }
  EXPECT_EQ(transport_->sent.size(), 3u);
  EXPECT_FALSE(thrown_);  // no error name to map
}

TEST_F(JsonProtocolTest, HtmlBadGatewayThenSuccess) {
  transport_->answer(502, "<html>Bad Gateway</html>");
  transport_->answer(200, "{}");

  EXPECT_EQ(client_.call("ListImages", "{}"), "{}");
  EXPECT_EQ(transport_->sent.size(), 2u);
}

TEST_F(JsonProtocolTest, NonJsonClientErrorIsNotRetried) {
  transport_->answer(403, "Forbidden");

  try {
    client_.call("ListImages", "{}");
    FAIL() << "expected HTTP 403";
  } catch (const ServiceError& error) {
    EXPECT_EQ(error.name(), "HTTP 403");
    EXPECT_EQ(error.message(), "Forbidden");
  }
  EXPECT_EQ(transport_->sent.size(), 1u);
}

TEST_F(JsonProtocolTest, ConnectionFailuresAreRetriedThenRethrown) {
  for (int i = 0; i < 3; ++i) transport_->fail(TransportError("Connection refused"));

  EXPECT_THROW(client_.call("ListImages", "{}"), TransportError);
  EXPECT_EQ(transport_->sent.size(), 3u);
}

TEST_F(JsonProtocolTest, DebugLinesRedactSignatureAndSessionToken) {
  transport_->answer(200, "{}", {{"x-amzn-RequestId", "req-3"}});

  client_.call("ListImages", R"({"repositoryName":"app"})");

  const std::string authorization = header(transport_->sent.at(0), "Authorization");
  const std::string signature = authorization.substr(authorization.rfind('=') + 1);
  ASSERT_EQ(signature.size(), 64u);
  const std::string expected_authorization_line =
      "> Authorization: " + authorization.substr(0, authorization.size() - 64) + "<redacted>";
  bool saw_authorization = false, saw_token = false;
  for (const auto& line : debug_) {
    EXPECT_EQ(line.find(signature), std::string::npos) << line;
    EXPECT_EQ(line.find(kToken), std::string::npos) << line;
    saw_authorization |= line == expected_authorization_line;
    saw_token |= line == "> X-Amz-Security-Token: <redacted>";
  }
  EXPECT_TRUE(saw_authorization);
  EXPECT_TRUE(saw_token);
  EXPECT_EQ(debug_.front(), "> POST http://127.0.0.1:5000/");
  EXPECT_EQ(debug_[debug_.size() - 4], R"(> {"repositoryName":"app"})");
  EXPECT_EQ(debug_[debug_.size() - 3], "< HTTP 200");
  EXPECT_EQ(debug_[debug_.size() - 2], "< x-amzn-RequestId: req-3");
  EXPECT_EQ(debug_.back(), "< {}");
}

TEST_F(JsonProtocolTest, DebugCutsLongBodies) {
  transport_->answer(200, "{}");
  const std::string body = "{\"layerPartBlob\":\"" + std::string(10000, 'A') + "\"}";

  client_.call("UploadLayerPart", body);

  const std::string expected =
      "> " + body.substr(0, 4096) + "... (" + std::to_string(body.size() - 4096) + " more bytes)";
  EXPECT_NE(std::find(debug_.begin(), debug_.end(), expected), debug_.end());
}

}  // namespace
}  // namespace ecr::aws
