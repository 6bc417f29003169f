// The memory a download gathers a blob's bytes in, piece by piece, and that
// the blob's hasher may keep rather than copy.
//
// A pull's download workers gather each range's bytes into pieces of up to
// 1 MiB (transfer/blob_download.cpp) and hand each piece to the blob's
// writer. Over a link that feeds its connections in turns, most pieces at a
// blob's frontier wait, unhashed, for another blob's bytes to be hashed with
// (core/in_order_hasher.hpp). Where the piece went to the file past the page
// cache, the hasher keeps it in memory: it takes the worker's piece itself
// (share_gathering_piece), and the worker gathers its next bytes in another
// from the pool. Copying instead took 26-40 ms of such a pull's 0.24 CPU-s
// (docs/performance.md, "2026-12-05 10:20").
//
// Pieces are kPieceBytes, page-aligned (a direct write takes their bytes,
// core/direct_writer.hpp), and go back to the pool when the last holder lets
// go, as memory a process touches for the first time is dear
// (core/thread_buffer.hpp); release_free_pieces() frees the pool's.
#pragma once

#include <cstddef>
#include <memory>
#include <span>

namespace ecr {

// A piece's size: a gathered piece of 1 MiB, and the page it may start into.
inline constexpr std::size_t kPieceBytes = (1 << 20) + 4096;

// A piece of memory, kPieceBytes; back to the pool when the last copy goes.
using SharedPiece = std::shared_ptr<std::byte>;

// The calling thread's gathering piece. It stays the thread's until
// share_gathering_piece() hands it on: the next call then gives another.
std::span<std::byte> gathering_piece();

// When `data` lies inside the calling thread's gathering piece: that piece,
// which from now on is no longer the thread's (the thread still holds it
// until its next gathering_piece() call, so the bytes stay put while the
// thread finishes with them). Null otherwise.
SharedPiece share_gathering_piece(std::span<const std::byte> data);

// A piece from the pool.
SharedPiece new_piece();

// Frees the pool's pieces no one holds.
void release_free_pieces();

}  // namespace ecr
