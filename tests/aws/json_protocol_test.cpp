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

#include "aws/clock_skew.hpp"
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
    // The correction is process-wide: every test starts and ends without one.
    set_clock_correction(milliseconds(0));
    // 2024-01-02T03:04:05Z, one second later on each reading.
    client_.set_signing_clock([this] {
      return std::chrono::system_clock::time_point(std::chrono::seconds(1704164645 + ticks_++));
    });
  }

  ~JsonProtocolTest() override { set_clock_correction(milliseconds(0)); }

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

// Clock skew (clock_skew.hpp). The fixture's clock reads 03:04:05 for the
// first signature and one second more at each reading; the skew answer's
// arrival is one reading.
constexpr const char* kExpired =
    R"json({"__type":"InvalidSignatureException","message":"Signature expired: )json"
    R"json(20240102T030405Z is now earlier than 20240102T034905Z (20240102T040405Z - 15 )json"
    R"json(min.)"})json";
constexpr const char* kNotYetCurrent =
    R"json({"__type":"InvalidSignatureException","message":"Signature not yet current: )json"
    R"json(20240102T030405Z is still later than 20240102T025905Z (20240102T024405Z + 15 )json"
    R"json(min.)"})json";

http::Headers date_header(const char* date) { return {{"Date", date}}; }

TEST_F(JsonProtocolTest, AnExpiredSignatureIsSignedAgainWithTheServersTime) {
  transport_->answer(403, kExpired, date_header("Tue, 02 Jan 2024 04:04:05 GMT"));
  transport_->answer(200, R"({"repositories":[]})");

  EXPECT_EQ(client_.call("DescribeRepositories", "{}"), R"({"repositories":[]})");

  // Signed at 03:04:05, refused by a server at 04:04:05 that answered as the
  // local clock read 03:04:06: the correction is 3599 s, and the second
  // signature (local 03:04:07) carries 04:04:06.
  EXPECT_EQ(clock_correction(), milliseconds(3599'000));
  ASSERT_EQ(transport_->sent.size(), 2u);
  EXPECT_EQ(header(transport_->sent[0], "X-Amz-Date"), "20240102T030405Z");
  EXPECT_EQ(header(transport_->sent[1], "X-Amz-Date"), "20240102T040406Z");
  EXPECT_EQ(header(transport_->sent[1], "Authorization")
                .rfind("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240102/us-west-2/ecr/", 0),
            0u);
  EXPECT_TRUE(sleeps_.empty());  // no backoff: the server is not struggling
  EXPECT_EQ(retry_->available_quota(), 500);
}

TEST_F(JsonProtocolTest, ASignatureNotYetCurrentMovesTheClockBack) {
  transport_->answer(403, kNotYetCurrent, date_header("Tue, 02 Jan 2024 02:44:05 GMT"));
  transport_->answer(200, "{}");

  client_.call("DescribeRepositories", "{}");

  EXPECT_EQ(clock_correction(), milliseconds(-1201'000));
  EXPECT_EQ(header(transport_->sent.at(1), "X-Amz-Date"), "20240102T024406Z");
}

TEST_F(JsonProtocolTest, TheCorrectionIsSignedAgainOnceOnlyAndASecondSkewErrorIsThrown) {
  transport_->answer(403, kExpired, date_header("Tue, 02 Jan 2024 04:04:05 GMT"));
  transport_->answer(403, kExpired, date_header("Tue, 02 Jan 2024 05:04:07 GMT"));

  try {
    client_.call("CreateRepository", R"({"repositoryName":"app"})");
    FAIL() << "expected InvalidSignatureException";
  } catch (const ServiceError& error) {
    EXPECT_EQ(error.name(), "InvalidSignatureException");
    EXPECT_TRUE(error.message().starts_with("Signature expired: ")) << error.message();
    EXPECT_EQ(error.http_status(), 403);
    EXPECT_EQ(error.operation(), "CreateRepository");
    EXPECT_EQ(error.attempts(), 2);
  }
  EXPECT_EQ(transport_->sent.size(), 2u);
  // The second answer taught nothing: one correction per call.
  EXPECT_EQ(clock_correction(), milliseconds(3599'000));
  EXPECT_TRUE(sleeps_.empty());
}

TEST_F(JsonProtocolTest, TheSignatureAfterACorrectionKeepsEveryStandardAttempt) {
  transport_->answer(403, kExpired, date_header("Tue, 02 Jan 2024 04:04:05 GMT"));
  transport_->answer(400, R"({"__type":"ThrottlingException","message":"Rate exceeded"})");
  transport_->answer(400, R"({"__type":"ThrottlingException","message":"Rate exceeded"})");
  transport_->answer(200, R"({"imageIds":[]})");

  EXPECT_EQ(client_.call("ListImages", "{}"), R"({"imageIds":[]})");

  EXPECT_EQ(transport_->sent.size(), 4u);  // the correction and then 3 attempts
  EXPECT_EQ(sleeps_, (std::vector<milliseconds>{milliseconds(500), milliseconds(1000)}));
}

TEST_F(JsonProtocolTest, ASkewErrorAfterRetriesIsCorrectedToo) {
  transport_->answer(500, R"({"__type":"ServerException","message":"internal"})");
  transport_->answer(403, kExpired, date_header("Tue, 02 Jan 2024 04:04:05 GMT"));
  transport_->answer(200, "{}");

  EXPECT_EQ(client_.call("ListImages", "{}"), "{}");

  EXPECT_EQ(transport_->sent.size(), 3u);
  // Second signature at 03:04:06, answered at local 03:04:07.
  EXPECT_EQ(clock_correction(), milliseconds(3598'000));
  EXPECT_EQ(header(transport_->sent[2], "X-Amz-Date"), "20240102T040406Z");
}

TEST_F(JsonProtocolTest, LaterCallsAndOtherClientsSignWithTheCorrection) {
  transport_->answer(403, kExpired, date_header("Tue, 02 Jan 2024 04:04:05 GMT"));
  transport_->answer(200, "{}");
  client_.call("DescribeRepositories", "{}");
  transport_->answer(200, "{}");

  client_.call("DescribeRepositories", "{}");

  EXPECT_EQ(header(transport_->sent.at(2), "X-Amz-Date"), "20240102T040407Z");
  // Another client of the process, with a local clock of its own.
  auto other_transport = std::make_shared<ScriptedTransport>();
  JsonProtocolClient other(other_transport, config(),
                           {"AmazonEC2ContainerRegistry_V20150921", "ecr"},
                           [](const std::string& name, const std::string& message, int status,
                              const std::string& request_id, std::string_view) {
                             throw ServiceError(name, message, status, request_id);
                           });
  other.set_signing_clock(
      [] { return std::chrono::system_clock::time_point(std::chrono::seconds(1704164645 + 100)); });
  other_transport->answer(200, "{}");
  other.call("ListImages", "{}");
  EXPECT_EQ(header(other_transport->sent.at(0), "X-Amz-Date"), "20240102T040544Z");
}

TEST_F(JsonProtocolTest, ANewSkewReplacesTheCorrectionInsteadOfAddingToIt) {
  set_clock_correction(std::chrono::hours(1));
  // Signed at 04:04:05 (03:04:05 + 1 h) but the server now reads 03:34:05.
  transport_->answer(403, kNotYetCurrent, date_header("Tue, 02 Jan 2024 03:34:05 GMT"));
  transport_->answer(200, "{}");

  client_.call("DescribeRepositories", "{}");

  EXPECT_EQ(header(transport_->sent.at(0), "X-Amz-Date"), "20240102T040405Z");
  EXPECT_EQ(clock_correction(), milliseconds(1799'000));  // 03:34:05 - 03:04:06
  EXPECT_EQ(header(transport_->sent.at(1), "X-Amz-Date"), "20240102T033406Z");
}

TEST_F(JsonProtocolTest, ASkewErrorWithoutAUsableDateGoesThroughUnchanged) {
  const std::vector<http::Headers> answers = {
      {},
      date_header(""),
      date_header("tomorrow"),
      date_header("Tue, 02 Jan 2024 04:04:05"),
      date_header("Wed, 02 Jan 2024 04:04:05 GMT"),
      date_header("Sat, 01 Jan 2263 00:00:00 GMT"),
      date_header("Tue, 02 Jan 2024 04:04:05 GMT\r\nX-Injected: 1"),
      date_header(std::string(100'000, '9').c_str()),
  };
  for (const auto& headers : answers) {
    transport_->answer(403, kExpired, headers);
    try {
      client_.call("DescribeRepositories", "{}");
      FAIL() << "expected InvalidSignatureException";
    } catch (const ServiceError& error) {
      EXPECT_EQ(error.name(), "InvalidSignatureException");
      EXPECT_EQ(error.attempts(), 1);
    }
  }
  EXPECT_EQ(transport_->sent.size(), answers.size());
  EXPECT_EQ(clock_correction(), milliseconds(0));
}

TEST_F(JsonProtocolTest, ABadSignatureWithTheServersTimeCloseIsNotSkew) {
  transport_->answer(
      403,
      R"({"__type":"InvalidSignatureException","message":"The request signature we calculated does not match the signature you provided."})",
      date_header("Tue, 02 Jan 2024 03:07:05 GMT"));

  EXPECT_THROW(client_.call("DescribeRepositories", "{}"), ServiceError);

  EXPECT_EQ(transport_->sent.size(), 1u);
  EXPECT_EQ(clock_correction(), milliseconds(0));
}

TEST_F(JsonProtocolTest, ABadSignatureFromAServerFarAwayInTimeIsSkew) {
  transport_->answer(
      403,
      R"({"__type":"SignatureDoesNotMatch","message":"The request signature we calculated does not match the signature you provided."})",
      date_header("Tue, 02 Jan 2024 03:14:05 GMT"));
  transport_->answer(200, "{}");

  EXPECT_EQ(client_.call("DescribeRepositories", "{}"), "{}");

  EXPECT_EQ(clock_correction(), milliseconds(599'000));
  EXPECT_EQ(header(transport_->sent.at(1), "X-Amz-Date"), "20240102T031406Z");
}

TEST_F(JsonProtocolTest, OtherErrorsWithAFarAwayDateAreNotSkew) {
  transport_->answer(400, R"({"__type":"RepositoryNotFoundException","message":"no repo"})",
                     date_header("Tue, 02 Jan 2024 09:04:05 GMT"));

  EXPECT_THROW(client_.call("DescribeRepositories", "{}"), RepositoryNotFound);

  EXPECT_EQ(transport_->sent.size(), 1u);
  EXPECT_EQ(clock_correction(), milliseconds(0));
}

TEST_F(JsonProtocolTest, DebugSaysWhatTheClockWasCorrectedBy) {
  transport_->answer(403, kExpired, date_header("Tue, 02 Jan 2024 04:04:05 GMT"));
  transport_->answer(200, "{}");

  client_.call("DescribeRepositories", "{}");

  EXPECT_NE(std::find(debug_.begin(), debug_.end(),
                      "* clock skew: InvalidSignatureException for a request signed at "
                      "20240102T030405Z, the server's Date is Tue, 02 Jan 2024 04:04:05 GMT; "
                      "signing from now on with the local clock +3599.000 s"),
            debug_.end());
}

}  // namespace
}  // namespace ecr::aws
