// What every test against moto_server shares: one server per test binary
// (started by the first test that needs it, stopped at exit), emptied before
// each test, and an ecr::Client pointed at it.
//
// Where moto differs from ECR in a way these tests must work around, the
// helper says so; the tests themselves assert ECR's documented behaviour.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "ecr/client.hpp"
#include "ecr/digest.hpp"
#include "support/moto_server.hpp"

namespace ecr::moto_test {

// moto's default account, and the region every test uses.
inline constexpr std::string_view kAccount = "123456789012";
inline constexpr std::string_view kRegion = "us-east-1";

inline constexpr std::string_view kDockerManifestV2 =
    "application/vnd.docker.distribution.manifest.v2+json";

// The server of this test binary, started on first use. A start failure is
// remembered so that later tests fail at once instead of waiting again.
inline testing::MotoServer& shared_moto() {
  static std::unique_ptr<testing::MotoServer> server;
  static std::optional<std::string> start_error;
  if (!server && !start_error) {
    try {
      server = std::make_unique<testing::MotoServer>();
    } catch (const std::exception& e) {
      start_error = e.what();
    }
  }
  if (start_error) throw std::runtime_error(*start_error);
  return *server;
}

// A Docker image manifest (schema 2) whose config and layer digests derive
// from `seed`, so that different seeds give different images. The blobs do
// not exist anywhere: moto does not check them (nor does PutImage in ECR
// without the layer uploads, which these tests do not reach).
inline std::string docker_manifest(std::string_view seed) {
  std::string seed_text(seed);
  return std::string(R"({"schemaVersion":2,"mediaType":")") + std::string(kDockerManifestV2) +
         R"(","config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":1469,"digest":")" +
         Digest::of("config " + seed_text).str() +
         R"("},"layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":2479,"digest":")" +
         Digest::of("layer " + seed_text).str() + R"("}]})";
}

class MotoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::MotoServer::available()) GTEST_SKIP() << testing::MotoServer::kMissingMessage;
    testing::MotoServer& moto = shared_moto();
    moto.reset();
    ClientConfig config;
    config.credentials = Credentials{"AKIAMOTOTESTEXAMPLE", "moto-test-secret-key", ""};
    config.region = std::string(kRegion);
    config.endpoint_url = moto.endpoint_url();
    // moto answers what it does not implement with an HTML 500; one attempt
    // reports that at once instead of after the retry backoff.
    config.max_attempts = 1;
    client_ = std::make_unique<Client>(config);
  }

  Client& client() { return *client_; }

  api::Repository create_repository(const std::string& name) {
    api::CreateRepositoryRequest request;
    request.repositoryName = name;
    return client().create_repository(request).repository.value();
  }

  // Pushes `manifest` under `tag`. The digest is sent along because moto
  // otherwise names an image by the SHA-256 of its concatenated layer
  // digests; ECR checks a given digest against the manifest bytes, so the
  // request is valid for both.
  api::Image put_image(const std::string& repository, const std::string& manifest,
                       const std::string& tag) {
    api::PutImageRequest request;
    request.repositoryName = repository;
    request.imageManifest = manifest;
    request.imageTag = tag;
    request.imageDigest = Digest::of(manifest).str();
    return client().put_image(request).image.value();
  }

  static std::string repository_arn(const std::string& name) {
    return "arn:aws:ecr:" + std::string(kRegion) + ":" + std::string(kAccount) + ":repository/" +
           name;
  }

 private:
  std::unique_ptr<Client> client_;
};

}  // namespace ecr::moto_test
