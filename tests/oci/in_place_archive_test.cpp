// InPlaceArchive's slots (oci/in_place_archive.hpp): pieces handed over at
// their page offsets, as a pull's downloads hand them, have their whole pages
// written past the page cache while they are hashed; the archive is byte for
// byte the one written all through the page cache, whatever order the pieces
// come in, and a corrupt piece written directly is still caught.
#include "oci/in_place_archive.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "ecr/error.hpp"
#include "ecr/manifest.hpp"
#include "support/pattern.hpp"
#include "support/scratch_dir.hpp"

namespace ecr::oci {
namespace {
namespace in_place_archive_test {

constexpr std::size_t kPiece = 1 << 20;  // what a download hands over at most

using testing::pattern;

Descriptor describe(const std::string& blob) {
  return {.media_type = std::string(media_type::kOciLayer),
          .digest = Digest::of(blob),
          .size = static_cast<std::int64_t>(blob.size())};
}

// A page-aligned buffer of one piece and a page, as a download's gathering
// piece is (core/piece_pool.hpp).
class PieceBuffer {
 public:
  PieceBuffer()
      : data_(static_cast<std::byte*>(::operator new[](kPiece + 4096, std::align_val_t{4096}))) {}
  ~PieceBuffer() { ::operator delete[](data_, std::align_val_t{4096}); }
  PieceBuffer(const PieceBuffer&) = delete;
  PieceBuffer& operator=(const PieceBuffer&) = delete;
  // `bytes` copied to `lead` bytes into the buffer's first page.
  std::span<const std::byte> hold(std::string_view bytes, std::size_t lead) {
    std::memcpy(data_ + lead, bytes.data(), bytes.size());
    return {data_ + lead, bytes.size()};
  }

 private:
  std::byte* data_;
};

class InPlaceArchiveTest : public ::testing::Test {
 protected:
  InPlaceArchiveTest() {
    // Sizes that put every blob after the first at no page boundary.
    blobs = {pattern(3 * kPiece + 1234, 1), pattern(700 * 1024 + 5, 2), pattern(10, 3),
             pattern(2 * kPiece, 4)};
    for (const auto& b : blobs) descriptors.push_back(describe(b));
  }

  // Writes every blob through a slot in pieces of kPiece, in `order` (piece
  // numbers of each blob), each placed at its page offset unless `misplace`.
  std::string write_archive(const std::string& name, bool direct,
                            const std::vector<std::size_t>& order = {}, bool misplace = false,
                            std::int64_t* written_directly = nullptr) {
    const auto target = dir.path() / name;
    InPlaceArchive archive(target, descriptors, std::string(kIndex), direct);
    PieceBuffer buffer;
    for (std::size_t i = 0; i < blobs.size(); ++i) {
      const std::string_view blob(blobs[i]);
      auto slot = archive.slot(descriptors[i]);
      const std::size_t pieces = (blob.size() + kPiece - 1) / kPiece;
      std::vector<std::size_t> sequence;
      for (std::size_t p : order) {
        if (p < pieces) sequence.push_back(p);
      }
      for (std::size_t p = 0; p < pieces; ++p) {
        if (std::find(sequence.begin(), sequence.end(), p) == sequence.end()) sequence.push_back(p);
      }
      for (std::size_t p : sequence) {
        const auto offset = static_cast<std::int64_t>(p * kPiece);
        const std::size_t lead =
            misplace ? (slot->page_offset(offset) + 512) % 4096 : slot->page_offset(offset);
        slot->write_at(offset, buffer.hold(blob.substr(p * kPiece, kPiece), lead));
      }
      slot->commit();
    }
    if (written_directly != nullptr) *written_directly = archive.bytes_written_directly();
    archive.commit(kIndex);
    return testing::read_file(target);
  }

  static constexpr std::string_view kIndex = R"({"schemaVersion":2,"manifests":[]})";
  testing::ScratchDir dir{"ecr-in-place-test"};
  std::vector<std::string> blobs;
  std::vector<Descriptor> descriptors;
};

TEST_F(InPlaceArchiveTest, PiecesAtTheirPageOffsetsGoPastThePageCacheIntoTheSameArchive) {
  std::int64_t direct_bytes = 0, cached_bytes = 0;
  const std::string direct = write_archive("direct.tar", true, {}, false, &direct_bytes);
  const std::string cached = write_archive("cached.tar", false, {}, false, &cached_bytes);

  EXPECT_TRUE(direct == cached);
  EXPECT_EQ(cached_bytes, 0);
  // All but the pages at the two edges of each of the 8 pieces.
  std::size_t total = 0;
  for (const auto& b : blobs) total += b.size();
  EXPECT_GT(direct_bytes, static_cast<std::int64_t>(total - 8 * 2 * 4096));
  for (const auto& b : blobs) {
    const std::size_t at = direct.find(b);
    ASSERT_NE(at, std::string::npos);
    EXPECT_EQ(at % 512, 0u);
  }
}

// Pieces that land ahead of the hashed prefix go through the page cache (the
// hash reads them back from there); the pieces in line still go directly.
TEST_F(InPlaceArchiveTest, PiecesOutOfOrderGiveTheSameArchive) {
  std::int64_t direct_bytes = 0;
  const std::string shuffled =
      write_archive("shuffled.tar", true, {2, 1, 0, 3}, false, &direct_bytes);
  EXPECT_TRUE(shuffled == write_archive("cached.tar", false));
  EXPECT_GT(direct_bytes, 0);
  EXPECT_LT(direct_bytes, static_cast<std::int64_t>(5 * kPiece));
}

TEST_F(InPlaceArchiveTest, PiecesElsewhereInAPageOfMemoryGoThroughThePageCache) {
  std::int64_t direct_bytes = -1;
  const std::string misplaced = write_archive("misplaced.tar", true, {}, true, &direct_bytes);
  EXPECT_EQ(direct_bytes, 0);
  EXPECT_TRUE(misplaced == write_archive("cached.tar", false));
}

TEST_F(InPlaceArchiveTest, ACorruptPieceWrittenDirectlyFailsTheBlob) {
  InPlaceArchive archive(dir.path() / "corrupt.tar", descriptors, std::string(kIndex));
  PieceBuffer buffer;
  auto slot = archive.slot(descriptors[0]);
  std::string first = blobs[0].substr(0, kPiece);
  first[5000] ^= 1;
  slot->write_at(0, buffer.hold(first, slot->page_offset(0)));
  for (std::size_t at = kPiece; at < blobs[0].size(); at += kPiece) {
    const auto offset = static_cast<std::int64_t>(at);
    slot->write_at(offset, buffer.hold(std::string_view(blobs[0]).substr(at, kPiece),
                                       slot->page_offset(offset)));
  }
  EXPECT_GT(archive.bytes_written_directly(), 0);
  EXPECT_THROW(slot->commit(), IntegrityError);
}

}  // namespace in_place_archive_test
}  // namespace
}  // namespace ecr::oci
