// Running the real peers (skopeo, umoci, tar) from tests, and scratch dirs.
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <random>
#include <string>

namespace ecr::test {

inline bool have_tool(const std::string& name) {
  return std::system(("command -v " + name + " >/dev/null 2>&1").c_str()) == 0;
}

// Runs `cmd` with /bin/sh; returns stdout. Fails the test on a non-zero exit.
inline std::string run(const std::string& cmd) {
  std::string out;
  std::unique_ptr<FILE, int (*)(FILE*)> p(popen((cmd + " 2>&1").c_str(), "r"), pclose);
  std::array<char, 4096> buf{};
  while (std::size_t n = fread(buf.data(), 1, buf.size(), p.get())) out.append(buf.data(), n);
  const int rc = pclose(p.release());
  EXPECT_EQ(rc, 0) << cmd << "\n" << out;
  return out;
}

// A fresh directory under the system temp dir, removed at the end of the test.
class ScratchDir {
 public:
  ScratchDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() / ("ecr-oci-test-" + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// fixtures/README.md: the digests of the hello image.
inline constexpr const char* kHelloManifest =
    "sha256:2c08ddd3f6dd05fb9768756e6ba3b1c203e4ad69cff1673318968b122e8458de";
inline constexpr const char* kHelloDiffId =
    "sha256:fcbe0f98103baa30ca79f04a80992cd94eb33daeee547f66989dcb53c2e2f728";
inline constexpr const char* kHelloLayer =
    "sha256:3b9190f95437c9410ee4985a105c68bf3f622372b78ba9292b05919af2aff1a2";

inline std::string fixture(const std::string& name) {
  return std::string(ECR_SOURCE_DIR) + "/fixtures/" + name;
}

// The digest skopeo computes for the manifest at `location`.
inline std::string skopeo_digest(const std::string& location) {
  std::string d = run("skopeo inspect --raw " + location + " | sha256sum | cut -d' ' -f1");
  return "sha256:" + d.substr(0, 64);
}

}  // namespace ecr::test

#define REQUIRE_PEERS()                                                      \
  if (!::ecr::test::have_tool("skopeo") || !::ecr::test::have_tool("umoci")) \
  GTEST_SKIP() << "skopeo and umoci are needed (Debian packages skopeo, umoci)"
