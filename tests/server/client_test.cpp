// ecr::Client against a real ecr-local: the typed API end to end (SigV4,
// awsJson1_1, blobs as base64, modeled errors mapped back to their classes).
// One ecr-local serves the whole suite; each test uses its own repositories.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "ecr/client.hpp"
#include "ecr/digest.hpp"
#include "ecr/service_errors.hpp"
#include "http/transport.hpp"
#include "support/ecr_local_server.hpp"

namespace ecr {
namespace {

constexpr const char* kAccessKey = testing::EcrLocalServer::kAccessKey;
constexpr const char* kSecretKey = testing::EcrLocalServer::kSecretKey;
// ECR refuses non-final layer parts under 5 MiB (LayerPartTooSmallException);
// the smallest legal size keeps the multi-part test fast.
constexpr std::size_t kMinPartBytes = 5u << 20;

std::string sha256_of(std::string_view bytes) {
  Sha256 h;
  h.update(bytes);
  return h.finish().str();
}

// Deterministic, incompressible-enough bytes, different for each seed.
std::string pattern_bytes(std::size_t n, std::uint32_t seed) {
  std::string out(n, '\0');
  std::uint32_t x = seed * 2654435761u + 1;
  for (auto& c : out) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x);
  }
  return out;
}

std::string oci_manifest(std::string_view config, std::string_view layer) {
  return R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
         R"("config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
         sha256_of(config) + R"(","size":)" + std::to_string(config.size()) +
         R"(},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":")" +
         sha256_of(layer) + R"(","size":)" + std::to_string(layer.size()) + "}]}";
}

std::string config_json(std::string_view os) {
  return R"({"architecture":"amd64","os":")" + std::string(os) +
         R"(","rootfs":{"type":"layers","diff_ids":[]}})";
}

class EcrLocalClient : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = std::make_unique<testing::EcrLocalServer>(); }

  static void TearDownTestSuite() {
    // ecr-local exits 0 on SIGTERM; anything else (a sanitizer report, a
    // crash) is a failure of the server, with its log shown.
    const int status = server_->stop();
    EXPECT_EQ(status, 0) << "ecr-local exited with " << status << "; log:\n" << server_->log();
    server_.reset();
  }

  static ClientConfig config(std::string secret = kSecretKey) {
    ClientConfig c;
    c.credentials = Credentials{kAccessKey, std::move(secret), ""};
    c.region = "us-east-1";
    c.endpoint_url = server_->endpoint_url();
    c.max_attempts = 1;
    return c;
  }

  Client client_{config()};

  void create(const std::string& name, const char* mutability = "MUTABLE") {
    api::CreateRepositoryRequest req;
    req.repositoryName = name;
    req.imageTagMutability = mutability;
    client_.create_repository(req);
  }

  // Request builders: the model structs are aggregates, and designated
  // initializers that skip optional members trip -Wmissing-field-initializers.
  std::string initiate(const std::string& repo) {
    api::InitiateLayerUploadRequest req;
    req.repositoryName = repo;
    return client_.initiate_layer_upload(req).uploadId.value();
  }

  api::UploadLayerPartResponse upload_part(const std::string& repo, const std::string& upload_id,
                                           std::int64_t first, std::string bytes) {
    api::UploadLayerPartRequest req;
    req.partFirstByte = first;
    req.partLastByte = first + static_cast<std::int64_t>(bytes.size()) - 1;
    req.layerPartBlob = std::move(bytes);
    req.repositoryName = repo;
    req.uploadId = upload_id;
    return client_.upload_layer_part(req);
  }

  api::CompleteLayerUploadResponse complete(const std::string& repo, const std::string& upload_id,
                                            const std::string& digest) {
    api::CompleteLayerUploadRequest req;
    req.layerDigests = {digest};
    req.repositoryName = repo;
    req.uploadId = upload_id;
    return client_.complete_layer_upload(req);
  }

  api::PutImageResponse put(const std::string& repo, const std::string& manifest,
                            const std::string& tag) {
    api::PutImageRequest req;
    req.imageManifest = manifest;
    req.imageTag = tag;
    req.repositoryName = repo;
    return client_.put_image(req);
  }

  api::DescribeRepositoriesResponse describe(const std::string& name) {
    api::DescribeRepositoriesRequest req;
    req.repositoryNames = std::vector<std::string>{name};
    return client_.describe_repositories(req);
  }

  api::DeleteRepositoryResponse delete_repository(const std::string& name, bool force = false) {
    api::DeleteRepositoryRequest req;
    req.repositoryName = name;
    if (force) req.force = true;
    return client_.delete_repository(req);
  }

  // A blob pushed as one part; returns its digest as CompleteLayerUpload reports it.
  std::string push_blob(const std::string& repo, const std::string& bytes) {
    const std::string up = initiate(repo);
    upload_part(repo, up, 0, bytes);
    return complete(repo, up, sha256_of(bytes)).layerDigest.value();
  }

  // Pushes config + layer and puts their manifest under `tag`; returns the manifest.
  std::string push_image(const std::string& repo, const std::string& tag, const std::string& config,
                         const std::string& layer) {
    push_blob(repo, config);
    push_blob(repo, layer);
    const std::string manifest = oci_manifest(config, layer);
    put(repo, manifest, tag);
    return manifest;
  }

  static inline std::unique_ptr<testing::EcrLocalServer> server_;
};

// --- repositories ----------------------------------------------------------

TEST_F(EcrLocalClient, CreatedRepositoryIsDescribedThenDeleted) {
  api::CreateRepositoryRequest req;
  req.repositoryName = "repos/app";
  const auto created = client_.create_repository(req).repository.value();
  EXPECT_EQ(created.repositoryUri, "000000000000.dkr.ecr.us-east-1.amazonaws.com/repos/app");
  EXPECT_EQ(created.repositoryArn, "arn:aws:ecr:us-east-1:000000000000:repository/repos/app");

  const auto described = describe("repos/app");
  ASSERT_EQ(described.repositories.value().size(), 1u);
  EXPECT_EQ(described.repositories->at(0).repositoryArn, created.repositoryArn);

  const auto deleted = delete_repository("repos/app");
  EXPECT_EQ(deleted.repository.value().repositoryName, "repos/app");
  EXPECT_THROW(describe("repos/app"), api::RepositoryNotFoundException);
}

TEST_F(EcrLocalClient, CreatingAnExistingRepositoryThrowsRepositoryAlreadyExists) {
  create("repos/twice");
  api::CreateRepositoryRequest req;
  req.repositoryName = "repos/twice";
  EXPECT_THROW(client_.create_repository(req), api::RepositoryAlreadyExistsException);
}

TEST_F(EcrLocalClient, DeletingAMissingRepositoryThrowsRepositoryNotFound) {
  EXPECT_THROW(delete_repository("repos/missing"), api::RepositoryNotFoundException);
}

TEST_F(EcrLocalClient, DescribeRepositoriesPagesByMaxResultsUntilNoNextToken) {
  for (const char* name : {"paging/a", "paging/b", "paging/c", "paging/d", "paging/e"})
    create(name);

  std::vector<std::string> names;
  int pages = 0;
  api::DescribeRepositoriesRequest req;
  req.maxResults = 2;
  for (;;) {
    const auto page = client_.describe_repositories(req);
    ++pages;
    ASSERT_LE(page.repositories.value().size(), 2u);
    for (const auto& r : *page.repositories) names.push_back(r.repositoryName.value());
    if (!page.nextToken) break;
    req.nextToken = page.nextToken;
  }

  EXPECT_GE(pages, 3);  // at least the five paging/* repositories, two per page
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  EXPECT_EQ(std::adjacent_find(names.begin(), names.end()), names.end()) << "a repository repeated";
  for (const char* name : {"paging/a", "paging/b", "paging/c", "paging/d", "paging/e"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), name), names.end()) << name;
  }
  std::vector<std::string> all;
  api::DescribeRepositoriesRequest one_per_page;
  one_per_page.maxResults = 1;
  for (const auto& r : client_.describe_repositories_all(one_per_page)) {
    all.push_back(r.repositoryName.value());
  }
  EXPECT_EQ(all, names);
}

TEST_F(EcrLocalClient, DeletingARepositoryWithImagesThrowsRepositoryNotEmpty) {
  create("repos/full");
  push_image("repos/full", "v1", config_json("linux"), "layer of repos/full");

  EXPECT_THROW(delete_repository("repos/full"), api::RepositoryNotEmptyException);
  EXPECT_NO_THROW(delete_repository("repos/full", /*force=*/true));
}

// --- layers and images -----------------------------------------------------

TEST_F(EcrLocalClient, MultiPartUploadCompletesToTheDigestOfAllParts) {
  const std::string repo = "push/multipart";
  create(repo);
  const std::string layer = pattern_bytes(2 * kMinPartBytes + 1000, 1);
  api::InitiateLayerUploadRequest init_req;
  init_req.repositoryName = repo;
  const auto init = client_.initiate_layer_upload(init_req);
  ASSERT_TRUE(init.uploadId && init.partSize);
  EXPECT_GE(*init.partSize, static_cast<std::int64_t>(kMinPartBytes));

  // Two full parts and a short last part.
  for (std::size_t first = 0; first < layer.size(); first += kMinPartBytes) {
    const std::size_t n = std::min(kMinPartBytes, layer.size() - first);
    const auto part =
        upload_part(repo, *init.uploadId, static_cast<std::int64_t>(first), layer.substr(first, n));
    EXPECT_EQ(part.lastByteReceived, static_cast<std::int64_t>(first + n - 1));
  }
  const auto done = complete(repo, *init.uploadId, sha256_of(layer));

  EXPECT_EQ(done.layerDigest, sha256_of(layer));
  api::BatchCheckLayerAvailabilityRequest check;
  check.layerDigests = {sha256_of(layer)};
  check.repositoryName = repo;
  const auto avail = client_.batch_check_layer_availability(check);
  ASSERT_EQ(avail.layers.value().size(), 1u);
  EXPECT_EQ(avail.layers->at(0).layerAvailability, "AVAILABLE");
  EXPECT_EQ(avail.layers->at(0).layerSize, static_cast<std::int64_t>(layer.size()));
}

TEST_F(EcrLocalClient, BatchGetImageReturnsTheExactManifestBytesUnderTheirDigest) {
  const std::string repo = "push/manifest";
  create(repo);
  const std::string manifest = push_image(repo, "v1", config_json("linux"), pattern_bytes(4096, 2));

  api::BatchGetImageRequest req;
  req.imageIds.emplace_back().imageTag = "v1";
  req.repositoryName = repo;
  const auto got = client_.batch_get_image(req);

  ASSERT_EQ(got.images.value().size(), 1u);
  const auto& image = got.images->at(0);
  EXPECT_EQ(image.imageManifest, manifest);
  EXPECT_EQ(image.imageId.value().imageDigest, sha256_of(manifest));
  EXPECT_EQ(image.imageManifestMediaType, "application/vnd.oci.image.manifest.v1+json");
}

TEST_F(EcrLocalClient, DownloadUrlServesTheExactLayerBytes) {
  const std::string repo = "push/download";
  create(repo);
  const std::string layer = pattern_bytes(100'000, 3);
  push_image(repo, "v1", config_json("linux"), layer);

  api::GetDownloadUrlForLayerRequest req;
  req.layerDigest = sha256_of(layer);
  req.repositoryName = repo;
  const auto url = client_.get_download_url_for_layer(req);
  http::Request get;
  get.url = url.downloadUrl.value();
  const http::Response response = http::make_curl_transport()->send(get);

  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, layer);
}

// --- modeled errors ----------------------------------------------------------

TEST_F(EcrLocalClient, UploadPartWithAGapThrowsInvalidLayerPartWithLastValidByte) {
  const std::string repo = "errors/gap";
  create(repo);
  const std::string up = initiate(repo);
  upload_part(repo, up, 0, "0123456789");
  try {
    upload_part(repo, up, 20, "xxxxxxxxxx");
    FAIL() << "a part after a gap was accepted";
  } catch (const api::InvalidLayerPartException& e) {
    EXPECT_EQ(e.http_status(), 400);
    EXPECT_EQ(e.lastValidByteReceived(), 9);
    EXPECT_EQ(e.registryId(), "000000000000");
    EXPECT_EQ(e.repositoryName(), repo);
    EXPECT_EQ(e.uploadId(), up);
  }
}

TEST_F(EcrLocalClient, PutImageReferencingAnUnpushedLayerThrowsLayersNotFound) {
  const std::string repo = "errors/layers";
  create(repo);
  const std::string config = config_json("linux");
  push_blob(repo, config);

  EXPECT_THROW(put(repo, oci_manifest(config, "never pushed"), "v1"), api::LayersNotFoundException);
}

TEST_F(EcrLocalClient, ImmutableTagCannotMoveToAnotherManifest) {
  const std::string repo = "errors/immutable";
  create(repo, "IMMUTABLE");
  push_image(repo, "v1", config_json("linux"), "layer one");
  const std::string other_config = config_json("freebsd");
  push_blob(repo, other_config);

  EXPECT_THROW(put(repo, oci_manifest(other_config, "layer one"), "v1"),
               api::ImageTagAlreadyExistsException);
}

TEST_F(EcrLocalClient, WrongSecretThrowsInvalidSignature) {
  Client wrong(config("not-the-secret"));
  try {
    wrong.describe_repositories();
    FAIL() << "a request signed with the wrong secret was accepted";
  } catch (const ServiceError& e) {
    EXPECT_EQ(e.name(), "InvalidSignatureException");
    EXPECT_EQ(e.http_status(), 403);
  }
}

// A client that stops sending in the middle of a request body must not hold
// a stop for the server's body timeout: the server stops reading at once and
// exits 0 without waiting for the connection (the fixture kills a server
// still running 5 s after SIGTERM, which stop() reports as 137), and without
// needing its 2 s grace for handlers still running: none is.
TEST(EcrLocalStop, SigtermWithAClientStalledMidBodyExitsZeroPromptly) {
  testing::EcrLocalServer server;
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(server.port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr), 0);
  const std::string head =
      "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-amz-json-1.1\r\n"
      "X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.DescribeRepositories\r\n"
      "Content-Length: 1000\r\n\r\n{\"repositoryNames\":";
  ASSERT_EQ(::send(fd, head.data(), head.size(), MSG_NOSIGNAL), static_cast<ssize_t>(head.size()));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the server is reading the body

  EXPECT_EQ(server.stop(), 0) << server.log();
  EXPECT_EQ(server.log().find("still running"), std::string::npos) << server.log();
  ::close(fd);
}

}  // namespace
}  // namespace ecr
