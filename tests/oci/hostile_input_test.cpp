// Hostile archives and layers: each is refused with a clear error, nothing is
// written outside the destination and no half-written output is left.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include "ecr/error.hpp"
#include "ecr/image_location.hpp"
#include "oci/peer_tools.hpp"

namespace ecr {
namespace {

using test::fixture;
using test::run;
using test::ScratchDir;
using ::testing::HasSubstr;

// Builds a tar with Python's tarfile: each spec line is "kind name [arg]",
// kind one of file (arg: content), symlink/hardlink (arg: target), fifo.
std::string make_tar(const ScratchDir& dir, const std::string& name, const std::string& spec) {
  const std::string out = dir / name;
  std::ofstream(dir / "spec.txt") << spec;
  std::ofstream(dir / "mk.py") << R"(
import io, sys, tarfile
out, spec = sys.argv[1], open(sys.argv[2]).read().splitlines()
with tarfile.open(out, 'w', format=tarfile.PAX_FORMAT) as t:
    for line in spec:
        kind, name, *rest = line.split(' ', 2)
        arg = rest[0] if rest else ''
        ti = tarfile.TarInfo(name)
        if kind == 'file':
            data = arg.encode(); ti.size = len(data); t.addfile(ti, io.BytesIO(data))
        elif kind in ('symlink', 'hardlink'):
            ti.type = tarfile.SYMTYPE if kind == 'symlink' else tarfile.LNKTYPE
            ti.linkname = arg; t.addfile(ti)
        elif kind == 'fifo':
            ti.type = tarfile.FIFOTYPE; t.addfile(ti)
)";
  run("python3 " + (dir / "mk.py") + " " + out + " " + (dir / "spec.txt"));
  return out;
}

std::string open_error(const std::string& path) {
  try {
    open_image_source(ImageLocation::parse(path));
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}

#define REQUIRE_PYTHON() \
  if (!test::have_tool("python3")) GTEST_SKIP() << "python3 builds the hostile tars"

TEST(HostileArchive, RefusesPathTraversal) {
  REQUIRE_PYTHON();
  ScratchDir dir;
  EXPECT_THAT(open_error(make_tar(dir, "t.tar", "file ../evil x\n")),
              HasSubstr("archive entry \"../evil\" is refused: path \"../evil\" leaves its root"));
}

TEST(HostileArchive, RefusesAbsolutePaths) {
  REQUIRE_PYTHON();
  ScratchDir dir;
  EXPECT_THAT(open_error(make_tar(dir, "t.tar", "file /etc/evil x\n")), HasSubstr("is absolute"));
}

TEST(HostileArchive, RefusesSymlinkLeavingArchive) {
  REQUIRE_PYTHON();
  ScratchDir dir;
  EXPECT_THAT(open_error(make_tar(dir, "t.tar", "symlink blobs/sha256/x ../../../etc/passwd\n")),
              HasSubstr("archive entry \"blobs/sha256/x\" is a symlink leaving the archive"));
  EXPECT_THAT(open_error(make_tar(dir, "u.tar", "symlink a /etc/passwd\n")),
              HasSubstr("is a symlink to an absolute path"));
}

TEST(HostileArchive, RefusesHardlinkLeavingArchive) {
  REQUIRE_PYTHON();
  ScratchDir dir;
  EXPECT_THAT(open_error(make_tar(dir, "t.tar", "hardlink a ../outside\n")),
              HasSubstr("archive entry \"a\" is a hardlink leaving the archive"));
  EXPECT_THAT(open_error(make_tar(dir, "u.tar", "hardlink a missing\n")),
              HasSubstr("links to \"missing\", which the archive does not hold"));
}

TEST(HostileArchive, RefusesDuplicateEntriesWithDifferentContent) {
  REQUIRE_PYTHON();
  ScratchDir dir;
  EXPECT_THAT(open_error(make_tar(dir, "t.tar", "file index.json aaaa\nfile index.json bbbb\n")),
              HasSubstr("duplicate archive entry \"index.json\" with different content"));
}

TEST(HostileArchive, RefusesNonRegularEntries) {
  REQUIRE_PYTHON();
  ScratchDir dir;
  EXPECT_THAT(
      open_error(make_tar(dir, "t.tar", "fifo blobs/sha256/p\n")),
      HasSubstr("archive entry \"blobs/sha256/p\" is not a regular file, directory or link"));
}

TEST(HostileArchive, RefusesInvalidJsonAndWrongMediaType) {
  REQUIRE_PYTHON();
  ScratchDir dir;
  const std::string layout = "file oci-layout {\"imageLayoutVersion\":\"1.0.0\"}\n";
  EXPECT_THAT(
      open_error(make_tar(dir, "t.tar", layout + "file index.json {\"schemaVersion\":2,\n")),
      HasSubstr("index.json: invalid JSON in manifest"));
  EXPECT_THAT(
      open_error(make_tar(
          dir, "u.tar",
          layout +
              R"(file index.json {"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","manifests":[]})"
              "\n")),
      HasSubstr("manifest media type mismatch"));
}

TEST(HostileArchive, RefusesTruncatedArchive) {
  ScratchDir dir;
  std::filesystem::copy_file(fixture("hello.oci.tar"), dir / "t.tar");
  std::filesystem::resize_file(dir / "t.tar", 2000);
  EXPECT_THROW(open_image_source(ImageLocation::parse("oci-archive:" + (dir / "t.tar"))),
               InputError);
}

TEST(HostileArchive, CompressedOuterTarBombIsCapped) {
  ScratchDir dir;
  run("cd " + dir.path().string() +
      " && head -c 8000000 /dev/zero > zeros && tar czf bomb.tar.gz zeros");
  DecompressionLimits limits;
  limits.max_bytes = 1 << 20;
  try {
    open_image_source(ImageLocation::parse("oci-archive:" + (dir / "bomb.tar.gz")), limits);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("decompression bomb"));
  }
  // Only the input is left: the staging directory of the extraction is gone.
  std::size_t left = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) ++left;
  EXPECT_EQ(left, 2u);
}

TEST(HostileLayer, RatioCapStopsZstdBomb) {
  ScratchDir dir;
  run("head -c 50000000 /dev/zero | zstd -19 -q -c > " + (dir / "z.zst"));
  DecompressionLimits limits;
  limits.max_ratio = 100;
  limits.ratio_floor = 1 << 20;
  auto fd = std::ifstream(dir / "z.zst", std::ios::binary);
  std::string data((std::istreambuf_iterator<char>(fd)), {});
  struct StringStream final : ByteStream {
    std::string s;
    std::size_t pos = 0;
    std::size_t read(std::span<std::byte> out) override {
      const std::size_t n = std::min(out.size(), s.size() - pos);
      std::memcpy(out.data(), s.data() + pos, n);
      pos += n;
      return n;
    }
  };
  auto in = std::make_unique<StringStream>();
  in->s = data;
  auto plain = decompressing_stream(std::move(in), Compression::kZstd, limits);
  std::vector<std::byte> buf(1 << 16);
  try {
    while (plain->read(buf) != 0) {
    }
    FAIL();
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("decompression bomb: zstd data expands past"));
  }
}

}  // namespace
}  // namespace ecr
