// TarWriter: the exact layout of what it writes (headers, data padded to 512
// bytes, the end marker, no padding to a block size), whatever the size of
// libarchive's write blocks; nothing at the target before commit().
#include "oci/tar_writer.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>

namespace ecr::oci {
namespace {

namespace fs = std::filesystem;

std::string pattern(std::size_t size, std::uint32_t seed) {
  std::string s(size, '\0');
  for (auto& c : s) {
    seed = seed * 1103515245u + 12345u;
    c = static_cast<char>(seed >> 16);
  }
  return s;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Name -> contents of every regular file in the archive (libarchive reading).
std::map<std::string, std::string> entries(const std::string& archive_bytes) {
  std::map<std::string, std::string> out;
  struct archive* a = archive_read_new();
  archive_read_support_format_tar(a);
  EXPECT_EQ(archive_read_open_memory(a, archive_bytes.data(), archive_bytes.size()), ARCHIVE_OK);
  archive_entry* e = nullptr;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    if (archive_entry_filetype(e) != AE_IFREG) continue;
    std::string data(static_cast<std::size_t>(archive_entry_size(e)), '\0');
    EXPECT_EQ(archive_read_data(a, data.data(), data.size()), static_cast<la_ssize_t>(data.size()));
    out[archive_entry_pathname(e)] = data;
  }
  archive_read_free(a);
  return out;
}

class TarWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string dir_template = (fs::temp_directory_path() / "ecr-tar-writer-XXXXXX").string();
    ASSERT_NE(::mkdtemp(dir_template.data()), nullptr);
    dir = dir_template;
  }
  void TearDown() override { fs::remove_all(dir); }
  fs::path dir;
};

TEST_F(TarWriterTest, WritesHeadersPaddedDataAndTheEndMarkerOnly) {
  // A file larger than several of libarchive's write blocks, not a multiple
  // of 512, and small entries around it.
  const std::string big = pattern((3 << 20) + 1000, 1);
  const fs::path source = dir / "big";
  std::ofstream(source, std::ios::binary) << big;
  const fs::path target = dir / "out.tar";
  {
    TarWriter w(target);
    w.add_bytes("oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
    w.add_directory("blobs/");
    w.add_file("blobs/big", source);
    w.add_bytes("index.json", "{}");
    EXPECT_FALSE(fs::exists(target));
    w.commit();
  }
  const std::string bytes = slurp(target);
  const auto padded = [](std::size_t n) { return (n + 511) / 512 * 512; };
  // One 512-byte header per entry, data padded to 512, two zero records.
  EXPECT_EQ(bytes.size(), 4 * 512 + padded(30) + padded(big.size()) + padded(2) + 1024);
  EXPECT_EQ(bytes.substr(bytes.size() - 1024), std::string(1024, '\0'));
  const auto files = entries(bytes);
  ASSERT_EQ(files.size(), 3u);
  EXPECT_EQ(files.at("oci-layout"), R"({"imageLayoutVersion":"1.0.0"})");
  EXPECT_EQ(files.at("blobs/big"), big);
  EXPECT_EQ(files.at("index.json"), "{}");
  // Only the archive is left: no temp file.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 2);
}

TEST_F(TarWriterTest, WithoutCommitNothingIsLeft) {
  {
    TarWriter w(dir / "out.tar");
    w.add_bytes("a", pattern(5000, 2));
  }
  EXPECT_TRUE(fs::is_empty(dir));
}

}  // namespace
}  // namespace ecr::oci
