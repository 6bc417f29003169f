#include "core/piece_pool.hpp"

#include <cstdint>
#include <mutex>
#include <new>
#include <vector>

namespace ecr {

namespace {

constexpr std::align_val_t kPieceAlignment{4096};

class Pool {
 public:
  std::byte* get() {
    {
      const std::lock_guard lock(mutex_);
      if (!free_.empty()) {
        std::byte* piece = free_.back();
        free_.pop_back();
        return piece;
      }
    }
    return static_cast<std::byte*>(::operator new[](kPieceBytes, kPieceAlignment));
  }

  void put(std::byte* piece) {
    const std::lock_guard lock(mutex_);
    free_.push_back(piece);
  }

  void release() {
    std::vector<std::byte*> pieces;
    {
      const std::lock_guard lock(mutex_);
      pieces.swap(free_);
    }
    for (std::byte* piece : pieces) ::operator delete[](piece, kPieceAlignment);
  }

 private:
  std::mutex mutex_;
  std::vector<std::byte*> free_;
};

// Never destroyed: threads hand their pieces back as they end, whenever that is.
Pool& pool() {
  static Pool* const p = new Pool;
  return *p;
}

struct ThreadPiece {
  SharedPiece piece;
  bool shared = false;  // handed on by share_gathering_piece()
};

ThreadPiece& thread_piece() {
  thread_local ThreadPiece t;
  return t;
}

}  // namespace

SharedPiece new_piece() {
  return SharedPiece(pool().get(), [](std::byte* piece) { pool().put(piece); });
}

std::span<std::byte> gathering_piece() {
  ThreadPiece& t = thread_piece();
  if (t.piece == nullptr || t.shared) {
    t.piece = new_piece();
    t.shared = false;
  }
  return {t.piece.get(), kPieceBytes};
}

SharedPiece share_gathering_piece(std::span<const std::byte> data) {
  ThreadPiece& t = thread_piece();
  if (t.piece == nullptr || t.shared || data.empty()) return nullptr;
  const auto begin = reinterpret_cast<std::uintptr_t>(t.piece.get());
  const auto at = reinterpret_cast<std::uintptr_t>(data.data());
  if (at < begin || at + data.size() > begin + kPieceBytes) return nullptr;
  t.shared = true;
  return t.piece;
}

void release_free_pieces() { pool().release(); }

}  // namespace ecr
