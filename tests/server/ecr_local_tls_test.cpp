// ecr-local serving https (--tls-cert, --tls-key) with a certificate the test
// makes for 127.0.0.1: clients that trust it (ecr::Client with a CA bundle,
// the curl command line) get the API, and the URLs it hands out (download
// URLs, proxyEndpoint, the registry API's realm) say https and work; a
// client that does not trust it, plain http to the port (answered 400 in plain
// http), a client that never
// starts its handshake and one still sending a refused body are each dealt
// with while the server keeps serving; unusable certificate files stop
// ecr-local before it listens, naming the file.
#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ecr/client.hpp"
#include "ecr/digest.hpp"
#include "ecr/error.hpp"
#include "http/transport.hpp"
#include "server/layer_upload_support.hpp"
#include "support/ecr_local_server.hpp"
#include "support/raw_connection.hpp"
#include "support/self_signed_certificate.hpp"
#include "support/subprocess.hpp"

namespace ecr {
namespace {

using testing::EcrLocalServer;
using testing::RawConnection;
using testing::SelfSignedCertificate;
using testing::upload_blob;

// How long a test waits for something before it counts as failed: a failure
// bound, not a speed claim.
constexpr std::chrono::seconds kTlsFailureBound{20};

// A TLS client connection by hand (OpenSSL, blocking), trusting `ca_file`.
class TlsConnection {
 public:
  TlsConnection(int port, const std::string& ca_file)
      : tcp_(port), context_(SSL_CTX_new(TLS_client_method())) {
    // SSL_write to a connection the server closed would raise SIGPIPE.
    std::signal(SIGPIPE, SIG_IGN);
    SSL_CTX_load_verify_locations(context_.get(), ca_file.c_str(), nullptr);
    SSL_CTX_set_verify(context_.get(), SSL_VERIFY_PEER, nullptr);
    ssl_.reset(SSL_new(context_.get()));
    SSL_set_fd(ssl_.get(), tcp_.fd());
    handshaken_ = tcp_.connected() && SSL_connect(ssl_.get()) == 1;
  }

  bool handshaken() const { return handshaken_; }

  bool send(std::string_view bytes) {
    while (!bytes.empty()) {
      const int n = SSL_write(ssl_.get(), bytes.data(), static_cast<int>(bytes.size()));
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  // The status line and header of the next response ("" when none came).
  std::string read_head() {
    std::string head;
    char c;
    while (head.find("\r\n\r\n") == std::string::npos) {
      if (SSL_read(ssl_.get(), &c, 1) != 1) return "";
      head += c;
    }
    return head;
  }

 private:
  struct ContextFree {
    void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
  };
  struct SslFree {
    void operator()(SSL* s) const { SSL_free(s); }
  };
  RawConnection tcp_;
  std::unique_ptr<SSL_CTX, ContextFree> context_;
  std::unique_ptr<SSL, SslFree> ssl_;
  bool handshaken_ = false;
};

ClientConfig client_config(const EcrLocalServer& server, std::optional<std::string> ca_bundle) {
  ClientConfig c;
  c.credentials = Credentials{EcrLocalServer::kAccessKey, EcrLocalServer::kSecretKey, ""};
  c.region = EcrLocalServer::kRegion;
  c.endpoint_url = server.endpoint_url();
  c.ca_bundle = std::move(ca_bundle);
  c.max_attempts = 1;
  return c;
}

class EcrLocalTls : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    certificate_ = std::make_unique<SelfSignedCertificate>();
    server_ = std::make_unique<EcrLocalServer>(
        std::vector<std::string>{"--tls-cert", certificate_->cert_path(), "--tls-key",
                                 certificate_->key_path(), "--header-timeout", "1"});
  }
  static void TearDownTestSuite() {
    const int status = server_->stop();
    EXPECT_EQ(status, 0) << "ecr-local exited with " << status << "; log:\n" << server_->log();
    server_.reset();
    certificate_.reset();
  }
  // After each test the server still answers a client that trusts it.
  void TearDown() override {
    Client client(trusting_config());
    EXPECT_NO_THROW(client.describe_repositories()) << server_->log();
  }

  static ClientConfig trusting_config() {
    return client_config(*server_, certificate_->cert_path());
  }

  static inline std::unique_ptr<SelfSignedCertificate> certificate_;
  static inline std::unique_ptr<EcrLocalServer> server_;
};

TEST_F(EcrLocalTls, PrintsAnHttpsUrl) {
  EXPECT_EQ(server_->endpoint_url().rfind("https://127.0.0.1:", 0), 0u) << server_->endpoint_url();
}

TEST_F(EcrLocalTls, ClientTrustingTheCertificateGetsTheApiAndHttpsUrlsThatWork) {
  Client client(trusting_config());
  api::CreateRepositoryRequest create;
  create.repositoryName = "tls/api";
  client.create_repository(create);
  const std::string config = R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers"}})";
  const std::string layer = "layer bytes over https";
  upload_blob(client, "tls/api", config);
  upload_blob(client, "tls/api", layer);
  api::PutImageRequest put;
  put.repositoryName = "tls/api";
  put.imageTag = "v1";
  put.imageManifest =
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
      R"("config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
      Digest::of(config).str() + R"(","size":)" + std::to_string(config.size()) +
      R"(},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":")" +
      Digest::of(layer).str() + R"(","size":)" + std::to_string(layer.size()) + "}]}";
  client.put_image(put);

  const auto token = client.get_authorization_token({});
  api::GetDownloadUrlForLayerRequest url_request;
  url_request.repositoryName = "tls/api";
  url_request.layerDigest = Digest::of(layer).str();
  const std::string url = client.get_download_url_for_layer(url_request).downloadUrl.value();

  ASSERT_EQ(token.authorizationData.value().size(), 1u);
  EXPECT_EQ(token.authorizationData.value()[0].proxyEndpoint.value(), server_->endpoint_url());
  EXPECT_EQ(url.rfind(server_->endpoint_url() + "/blobs/sha256/", 0), 0u) << url;
  http::TransportOptions options;
  options.ca_bundle = certificate_->cert_path();
  const http::Response download = http::make_curl_transport(options)->send({"GET", url, {}, {}});
  EXPECT_EQ(download.status, 200);
  EXPECT_EQ(download.body, layer);
}

TEST_F(EcrLocalTls, RegistryApiChallengeNamesAnHttpsRealm) {
  http::TransportOptions options;
  options.ca_bundle = certificate_->cert_path();

  const http::Response challenge =
      http::make_curl_transport(options)->send({"GET", server_->endpoint_url() + "/v2/", {}, {}});

  EXPECT_EQ(challenge.status, 401);
  EXPECT_EQ(http::find_header(challenge.headers, "WWW-Authenticate").value_or(""),
            "Basic realm=\"" + server_->endpoint_url() + "/\",service=\"ecr.amazonaws.com\"");
}

TEST_F(EcrLocalTls, ClientNotTrustingTheCertificateIsRefusedByItsOwnCheck) {
  Client client(client_config(*server_, std::nullopt));
  try {
    client.describe_repositories();
    FAIL() << "expected TransportError";
  } catch (const TransportError& e) {
    EXPECT_NE(std::string(e.what()).find("certificate"), std::string::npos) << e.what();
  }
}

// A client given http:// for the https port reads why, in plain HTTP, in
// its door's error format, and the connection ends.
TEST_F(EcrLocalTls, PlainHttpToTheTlsPortIsAnswered400InPlainHttp) {
  RawConnection c(server_->port());
  ASSERT_TRUE(c.connected());

  c.send("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");

  const std::optional<testing::RawResponse> r = c.read_response();
  ASSERT_TRUE(r.has_value()) << server_->log();
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(r->headers.at("connection"), "close");
  EXPECT_EQ(r->headers.at("x-amzn-errortype"), "BadRequestException");
  EXPECT_EQ(r->body,
            "{\"__type\":\"BadRequestException\",\"message\":\"This ecr-local listener speaks "
            "HTTPS and the client sent plain HTTP: use an https:// endpoint\"}");
  EXPECT_TRUE(c.closed_by_server());
}

TEST_F(EcrLocalTls, PlainHttpToTheTlsPortsRegistryApiIsAnsweredInItsErrorFormat) {
  RawConnection c(server_->port());
  ASSERT_TRUE(c.connected());

  c.send("GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");

  const std::optional<testing::RawResponse> r = c.read_response();
  ASSERT_TRUE(r.has_value()) << server_->log();
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(r->body,
            "{\"errors\":[{\"code\":\"UNSUPPORTED\",\"message\":\"This ecr-local listener "
            "speaks HTTPS and the client sent plain HTTP: use an https:// endpoint\","
            "\"detail\":{}}]}");
}

// Bytes that are neither a TLS record nor a request line go to the
// handshake, which fails: closed without an answer.
TEST_F(EcrLocalTls, BytesThatAreNeitherTlsNorHttpAreClosedWithoutAnAnswer) {
  RawConnection c(server_->port());
  ASSERT_TRUE(c.connected());

  c.send(std::string("\0\1\2 not a handshake\r\n\r\n", 24));

  EXPECT_FALSE(c.read_response().has_value());
}

// --header-timeout 1 bounds the handshake too; meanwhile others are served.
TEST_F(EcrLocalTls, ClientThatNeverHandshakesIsClosedAfterTheHeaderTimeoutAndHoldsNoOneUp) {
  RawConnection silent(server_->port());
  ASSERT_TRUE(silent.connected());

  Client client(trusting_config());
  auto call = std::async(std::launch::async, [&client] { return client.describe_repositories(); });
  ASSERT_EQ(call.wait_for(kTlsFailureBound), std::future_status::ready) << server_->log();
  EXPECT_NO_THROW(call.get());
  EXPECT_TRUE(silent.closed_by_server());
}

// Over TLS the connection ends with a close_notify, and what the client still
// sends of a body it was refused is dropped until then: the answer is not
// lost to a reset.
TEST_F(EcrLocalTls, RefusalBeforeTheBodyReachesAClientStillSendingIt) {
  TlsConnection c(server_->port(), certificate_->cert_path());
  ASSERT_TRUE(c.handshaken());

  ASSERT_TRUE(
      c.send("POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-amz-json-1.1\r\n"
             "X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.DescribeRepositories\r\n"
             "Content-Length: 30000000\r\n\r\n"));
  c.send(std::string(4u << 20, ' '));  // may fail once the server is gone: the answer counts
  const std::string head = c.read_head();

  EXPECT_EQ(head.rfind("HTTP/1.1 413 ", 0), 0u) << head;
  EXPECT_NE(head.find("Connection: close"), std::string::npos) << head;
}

TEST_F(EcrLocalTls, CurlWithTheCertificateAsCaGetsTheHealthCheck) {
  testing::ProcessOptions curl;
  curl.argv = {"curl", "-sS", "--cacert", certificate_->cert_path(), server_->endpoint_url() + "/"};
  testing::ProcessResult r;
  try {
    r = testing::run_process(curl, kTlsFailureBound);
  } catch (const std::runtime_error& e) {
    GTEST_SKIP() << "no curl command line: " << e.what();
  }
  EXPECT_EQ(r.exit_status, 0) << r.stderr_text;
  EXPECT_EQ(r.stdout_text, "{\"status\":\"ok\"}");
}

// ecr-local with `args` on a fresh root; how it ended.
testing::ProcessResult run_ecr_local(const std::vector<std::string>& args) {
  const std::filesystem::path root =
      std::filesystem::temp_directory_path() / ("ecr-local-tls-" + std::to_string(::getpid()));
  testing::ProcessOptions options;
  options.argv = {EcrLocalServer::binary(), "--root", root.string(), "--listen", "127.0.0.1:0"};
  options.argv.insert(options.argv.end(), args.begin(), args.end());
  testing::ProcessResult r = testing::run_process(options, kTlsFailureBound);
  std::error_code ignored;
  std::filesystem::remove_all(root, ignored);
  return r;
}

TEST(EcrLocalTlsStart, UnreadableCertificateStopsItBeforeListeningNamingTheFile) {
  SelfSignedCertificate certificate;
  const std::string missing = (certificate.directory() / "missing.pem").string();

  const testing::ProcessResult r =
      run_ecr_local({"--tls-cert", missing, "--tls-key", certificate.key_path()});

  EXPECT_EQ(r.exit_status, 1);
  EXPECT_EQ(r.stdout_text, "");  // no URL: it never listened
  EXPECT_NE(r.stderr_text.find("cannot read the TLS certificate " + missing), std::string::npos)
      << r.stderr_text;
}

TEST(EcrLocalTlsStart, KeyOfAnotherCertificateStopsItNamingBothFiles) {
  SelfSignedCertificate certificate;
  SelfSignedCertificate other;

  const testing::ProcessResult r =
      run_ecr_local({"--tls-cert", certificate.cert_path(), "--tls-key", other.key_path()});

  EXPECT_EQ(r.exit_status, 1);
  EXPECT_EQ(r.stdout_text, "");
  EXPECT_NE(r.stderr_text.find("TLS private key " + other.key_path() +
                               " is not the key of certificate " + certificate.cert_path()),
            std::string::npos)
      << r.stderr_text;
}

TEST(EcrLocalTlsStart, CertificateWithoutKeyIsAUsageError) {
  SelfSignedCertificate certificate;

  const testing::ProcessResult r = run_ecr_local({"--tls-cert", certificate.cert_path()});

  EXPECT_EQ(r.exit_status, 2);
  EXPECT_NE(r.stderr_text.find("--tls-cert requires --tls-key"), std::string::npos)
      << r.stderr_text;
}

}  // namespace
}  // namespace ecr
