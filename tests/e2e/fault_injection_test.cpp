// The transfer engine's fault paths, through the shipped binaries: ecr-push
// and ecr-pull talk to a real ecr-local through a FaultProxy that breaks one
// exchange on purpose (a connection reset mid-part, a lost answer, a flipped
// byte, a download cut short), and the image must still arrive exact, with
// only the broken part sent again.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "e2e/e2e_support.hpp"
#include "support/ecr_local_server.hpp"
#include "support/fault_proxy.hpp"
#include "support/subprocess.hpp"

namespace ecr {
namespace {

namespace fs = std::filesystem;
using namespace e2e;

constexpr std::int64_t kFaultMiB = 1024 * 1024;
// Bigger than one part (ecr-local answers InitiateLayerUpload with 10 MiB
// parts, as ECR does; --part-size asks for 5 MiB where a registry names
// none), so the upload has a second part to break, and below the 16 MiB
// range threshold of pulls, so a download is one GET.
constexpr std::int64_t kFaultLayerSize = 12 * kFaultMiB;

// Random (incompressible) bytes, the same on every run.
std::string random_layer() { return random_bytes(kFaultLayerSize, 20261123); }

// One line of ecr-local's request log: "<time> INFO <what> <status> <ms>ms
// in=<bytes> out=<bytes> id=...", where <what> is an operation or, for blob
// downloads, "GET <path>".
struct LoggedRequest {
  std::string what;
  int status = 0;
  std::int64_t in = 0;
};

std::vector<LoggedRequest> logged_requests(const std::string& log) {
  std::vector<LoggedRequest> out;
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    std::string when, level, what, status, ms, in;
    if (!(fields >> when >> level >> what >> status) || level != "INFO") continue;
    if (what == "GET") {
      what += " " + status;
      fields >> status;
    }
    if (!(fields >> ms >> in) || !in.starts_with("in=")) continue;
    out.push_back({what, std::atoi(status.c_str()), std::stoll(in.substr(3))});
  }
  return out;
}

// ecr-local behind a FaultProxy (EcrLocalBehindProxy), each test scripting
// the proxy's faults.
class Faults : public EcrLocalBehindProxy {
 protected:
  // Runs `tool` against the proxy with --json, a private cache and `args`;
  // fails the test when it does not exit 0.
  Summary run(const std::string& tool, std::vector<std::string> args, const char* bytes_key) {
    testing::ProcessOptions opts;
    opts.argv = {tool,
                 "--endpoint-url",
                 proxy_.url(),
                 "--json",
                 "--quiet",
                 "--cache-dir",
                 (work_ / "cache" / std::to_string(++runs_)).string()};
    opts.argv.insert(opts.argv.end(), args.begin(), args.end());
    opts.env = testing::EcrLocalServer::tool_env();
    const testing::ProcessResult r = testing::run_process(opts, kToolTimeout);
    EXPECT_EQ(r.exit_status, 0) << tool << " failed\nstdout: " << r.stdout_text
                                << "\nstderr: " << r.stderr_text << "\necr-local log:\n"
                                << server_->log();
    if (r.exit_status != 0) return {};
    return parse_summary(r.stdout_text, bytes_key);
  }

  Summary push(const OciImage& image, const std::string& dest) {
    return run(kEcrPush,
               {"--create-repository", "--part-size", "5MiB", "oci:" + image.dir.string(), dest},
               "bytesUploaded");
  }

  // Pulls `source` into a fresh OCI layout; returns the layout's copy of
  // `digest` ("" when missing).
  std::string pull_blob(const std::string& source, const std::string& digest,
                        Summary* summary = nullptr) {
    const fs::path dest = work_ / ("pulled-" + std::to_string(runs_ + 1));
    const Summary s = run(kEcrPull, {source, "oci:" + dest.string()}, "bytesDownloaded");
    if (summary) *summary = s;
    const fs::path blob = dest / "blobs" / "sha256" / digest.substr(7);
    return fs::is_regular_file(blob) ? read_file(blob) : std::string();
  }

  std::vector<LoggedRequest> requests_for(const std::string& what) const {
    std::vector<LoggedRequest> out;
    for (auto& r : logged_requests(server_->log())) {
      if (r.what == what) out.push_back(r);
    }
    return out;
  }

  static std::string blob_get(const std::string& digest) {
    return "GET /blobs/sha256/" + digest.substr(7);
  }

  int runs_ = 0;
};

// The connection breaks while the layer's second part is on the wire (the
// config's one small part does not count: the fault needs a body of more
// than 1 MiB): the registry never saw that part, the client sends it again
// and finishes the same upload.
TEST_F(Faults, PushResumesAfterAConnectionResetMidPart) {
  const OciImage image = write_image(work_ / "image", random_layer(), "latest");
  proxy_.drop_during_request("UploadLayerPart", 1 * kFaultMiB, /*skip=*/1);

  const Summary pushed = push(image, "faults/reset:latest");

  EXPECT_EQ(proxy_.fired(), 1);
  EXPECT_EQ(pushed.digest, image.manifest_digest);
  EXPECT_LT(pushed.bytes, 2 * kFaultLayerSize);
  // One upload per blob (config and layer): resumed, never restarted.
  EXPECT_EQ(server_->requests("InitiateLayerUpload"), 2);
  std::int64_t part_bytes = 0;
  for (const auto& r : requests_for("UploadLayerPart")) part_bytes += r.in;
  // A part travels as base64 in JSON (4/3 of its size): all of the layer
  // once, plus at most the broken part again, is less than twice the layer.
  EXPECT_LT(part_bytes, 2 * kFaultLayerSize * 4 / 3);
  EXPECT_EQ(pull_blob("faults/reset@" + image.manifest_digest, image.layer_digest), image.layer);
}

// The registry stored the layer's first part but its answer was lost: the
// client sends the part again, learns from InvalidLayerPartException's
// lastValidByteReceived that the registry has it, and goes on from there.
TEST_F(Faults, PushResumesFromLastValidByteWhenAPartAnswerIsLost) {
  const OciImage image = write_image(work_ / "image", random_layer(), "latest");
  proxy_.arm({.kind = testing::FaultProxy::FaultKind::kDropResponse,
              .match = "UploadLayerPart",
              .offset = 0,
              .skip = 0,
              .min_request_body = 1 * kFaultMiB});  // a layer part, not the config's

  const Summary pushed = push(image, "faults/lost-answer:latest");

  EXPECT_EQ(proxy_.fired(), 1);
  EXPECT_EQ(pushed.digest, image.manifest_digest);
  EXPECT_EQ(server_->requests("InitiateLayerUpload"), 2);
  int accepted = 0;
  for (const auto& r : requests_for("UploadLayerPart")) accepted += r.status == 200 ? 1 : 0;
  // Config (one part) and layer (two parts), each accepted once.
  EXPECT_EQ(accepted, 3);
  EXPECT_EQ(pull_blob("faults/lost-answer:latest", image.layer_digest), image.layer);
}

// A byte flipped on the way: the blob does not match its digest, so ecr-pull
// fetches it again and writes only the verified bytes.
TEST_F(Faults, PullFetchesACorruptedBlobAgain) {
  const OciImage image = write_image(work_ / "image", random_layer(), "latest");
  push(image, "faults/corrupt:latest");
  proxy_.corrupt_response(blob_get(image.layer_digest), 5 * kFaultMiB + 17);

  Summary pulled;
  const std::string blob = pull_blob("faults/corrupt:latest", image.layer_digest, &pulled);

  EXPECT_EQ(proxy_.fired(), 1);
  EXPECT_EQ(pulled.digest, image.manifest_digest);
  EXPECT_EQ(sha256(blob), image.layer_digest);
  EXPECT_EQ(blob, image.layer);
  EXPECT_EQ(requests_for(blob_get(image.layer_digest)).size(), 2u);
}

// The download breaks after 5 MiB: ecr-pull asks for the rest with a Range
// request instead of starting over.
TEST_F(Faults, PullResumesAnInterruptedDownloadWithARangeRequest) {
  const OciImage image = write_image(work_ / "image", random_layer(), "latest");
  push(image, "faults/range:latest");
  proxy_.drop_during_response(blob_get(image.layer_digest), 5 * kFaultMiB);

  const std::string blob = pull_blob("faults/range:latest", image.layer_digest);

  EXPECT_EQ(proxy_.fired(), 1);
  EXPECT_EQ(blob, image.layer);
  const auto gets = requests_for(blob_get(image.layer_digest));
  ASSERT_FALSE(gets.empty());
  EXPECT_LE(gets.size(), 2u);
  EXPECT_EQ(gets.back().status, 206);  // Partial Content: the rest, by Range
}

}  // namespace
}  // namespace ecr
