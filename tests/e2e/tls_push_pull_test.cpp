// The shipped tools over https: ecr-local serving a certificate the test
// makes for 127.0.0.1 (--tls-cert, --tls-key), and ecr, ecr-push and
// ecr-pull trusting it through AWS_CA_BUNDLE, as a user with a private CA
// (or docker's insistence on https) would set them up.
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "e2e/e2e_support.hpp"
#include "support/ecr_local_server.hpp"
#include "support/self_signed_certificate.hpp"
#include "support/subprocess.hpp"

namespace ecr {
namespace {

namespace fs = std::filesystem;
using namespace e2e;

class TlsTools : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    certificate_ = std::make_unique<testing::SelfSignedCertificate>();
    server_ = std::make_unique<testing::EcrLocalServer>(std::vector<std::string>{
        "--tls-cert", certificate_->cert_path(), "--tls-key", certificate_->key_path()});
    work_ = server_->directory() / "work";
    fs::create_directories(work_);
  }
  static void TearDownTestSuite() {
    const int status = server_->stop();
    EXPECT_EQ(status, 0) << "ecr-local exited with " << status << "; log:\n" << server_->log();
    server_.reset();
    certificate_.reset();
  }

  // Runs a tool against the server; `ca_bundle` is its AWS_CA_BUNDLE (unset
  // when nullopt).
  static testing::ProcessResult run(const std::string& binary, const std::vector<std::string>& args,
                                    std::optional<std::string> ca_bundle) {
    testing::ProcessOptions options = tool_options(binary, server_->endpoint_url(), args, work_);
    options.env["AWS_CA_BUNDLE"] = std::move(ca_bundle);
    return testing::run_process(options, kToolTimeout);
  }
  static testing::ProcessResult run_trusting(const std::string& binary,
                                             const std::vector<std::string>& args) {
    return run(binary, args, certificate_->cert_path());
  }

  static inline std::unique_ptr<testing::SelfSignedCertificate> certificate_;
  static inline std::unique_ptr<testing::EcrLocalServer> server_;
  static inline fs::path work_;
};

// 12 MiB: more than one 10 MiB part up, and a download URL (https too) down.
TEST_F(TlsTools, TrustingTheCertificateThroughAwsCaBundleRoundTripsAnImageByteForByte) {
  const OciImage image = write_image(work_ / "source", random_bytes(12u << 20, 31), "v1");
  const fs::path pulled = work_ / "pulled";

  const testing::ProcessResult created =
      run_trusting(kEcrCli, {"create-repository", "--repository-name", "tls/app"});
  const testing::ProcessResult pushed = run_trusting(
      kEcrPush,
      {"--json", "--quiet", "--no-cache", "oci:" + image.dir.string() + ":v1", "tls/app:v1"});
  const testing::ProcessResult pulled_run = run_trusting(
      kEcrPull, {"--json", "--quiet", "--no-cache", "tls/app:v1", "oci:" + pulled.string()});

  ASSERT_EQ(created.exit_status, 0) << created.stderr_text;
  EXPECT_NE(created.stdout_text.find("\"repositoryName\""), std::string::npos)
      << created.stdout_text;
  ASSERT_EQ(pushed.exit_status, 0) << pushed.stderr_text << server_->log();
  ASSERT_EQ(pulled_run.exit_status, 0) << pulled_run.stderr_text << server_->log();
  EXPECT_EQ(parse_summary(pushed.stdout_text, "bytesUploaded").digest, image.manifest_digest);
  EXPECT_EQ(parse_summary(pulled_run.stdout_text, "bytesDownloaded").digest, image.manifest_digest);
  const std::string layer = read_file(pulled / "blobs" / "sha256" /
                                      image.layer_digest.substr(std::string("sha256:").size()));
  EXPECT_TRUE(layer == image.layer) << "pulled layer differs (" << layer.size() << " bytes)";
}

TEST_F(TlsTools, NotTrustingTheCertificateFailsOnIt) {
  const testing::ProcessResult r = run(kEcrCli, {"describe-repositories"}, std::nullopt);

  EXPECT_NE(r.exit_status, 0);
  EXPECT_NE(r.stderr_text.find("certificate"), std::string::npos) << r.stderr_text;
}

}  // namespace
}  // namespace ecr
