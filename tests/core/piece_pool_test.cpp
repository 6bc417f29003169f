// piece_pool (core/piece_pool.hpp): a thread gathers in the same piece until
// it hands it on; a piece handed on keeps its bytes while the thread gathers
// in another, and only bytes inside the thread's own piece are handed on.
#include "core/piece_pool.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <thread>

namespace ecr {
namespace {

TEST(PiecePool, AThreadGathersInTheSamePieceUntilItHandsItOn) {
  const std::span<std::byte> first = gathering_piece();
  ASSERT_EQ(first.size(), kPieceBytes);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(first.data()) % 4096, 0u);
  EXPECT_EQ(gathering_piece().data(), first.data());

  std::memset(first.data(), 0x5a, first.size());
  const SharedPiece kept = share_gathering_piece(first.subspan(4096, 1000));
  ASSERT_NE(kept, nullptr);
  EXPECT_EQ(kept.get(), first.data());
  // Handed on once only: the thread's piece is no longer its own to hand.
  EXPECT_EQ(share_gathering_piece(first.subspan(4096, 1000)), nullptr);

  const std::span<std::byte> next = gathering_piece();
  EXPECT_NE(next.data(), first.data());
  std::memset(next.data(), 0x11, next.size());
  EXPECT_EQ(kept.get()[0], std::byte{0x5a});
  EXPECT_EQ(kept.get()[kPieceBytes - 1], std::byte{0x5a});
}

TEST(PiecePool, BytesOutsideTheThreadsPieceAreNotHandedOn) {
  const std::span<std::byte> piece = gathering_piece();
  std::byte elsewhere[16]{};
  EXPECT_EQ(share_gathering_piece(std::span<const std::byte>(elsewhere)), nullptr);
  // Running past the piece's end.
  EXPECT_EQ(share_gathering_piece(std::span<const std::byte>(piece.data() + 1, kPieceBytes)),
            nullptr);
  EXPECT_EQ(share_gathering_piece({}), nullptr);
  std::span<const std::byte> mine;
  std::thread([&] { mine = gathering_piece().first(100); }).join();
  EXPECT_EQ(share_gathering_piece(mine), nullptr);  // another thread's piece
  EXPECT_EQ(gathering_piece().data(), piece.data());
}

TEST(PiecePool, APieceLetGoIsUsedAgain) {
  release_free_pieces();
  SharedPiece a = share_gathering_piece(gathering_piece().first(10));
  ASSERT_NE(a, nullptr);
  std::byte* const was = a.get();
  gathering_piece();  // the thread takes another; `a` is the last holder
  a.reset();
  EXPECT_EQ(new_piece().get(), was);
  std::thread([] {
    std::memset(new_piece().get(), 0, kPieceBytes);  // ASan: the piece is whole
    std::memset(gathering_piece().data(), 0, kPieceBytes);
  }).join();
  release_free_pieces();
}

}  // namespace
}  // namespace ecr
