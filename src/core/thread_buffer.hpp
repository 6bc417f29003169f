// A buffer each thread keeps for its whole life, for work it does over and
// over: a hash catching up on bytes it reads back (core/in_order_hasher.cpp).
// (A download's gathering pieces, which a hasher may keep, come from
// core/piece_pool.hpp.)
//
// Memory a process touches for the first time is dear on the project's bench
// VM (core/file.hpp, DropBehind, says why: 0.7 CPU s per GB), and a 1 MiB
// buffer allocated per use is often fresh memory: glibc serves it from a new
// mapping, or from the top of a thread's heap, which it hands back to the
// kernel once freed. A pull allocated one per range fetched; keeping one per
// thread took 5-9% off a pull's CPU (docs/performance.md, 2026-12-05).
#pragma once

#include <cstddef>
#include <memory>
#include <new>
#include <span>

namespace ecr {

// Buffers start at a page boundary, so a direct write can take their bytes
// (core/direct_writer.hpp).
inline constexpr std::size_t kThreadBufferAlignment = 4096;

// The calling thread's buffer for `Use` (a tag type: each use has its own,
// so one can be in use while the other is), at least `size` bytes. It stays
// valid until the thread ends or the next call on the thread asks for more.
template <class Use>
std::span<std::byte> thread_buffer(std::size_t size) {
  struct Free {
    void operator()(std::byte* p) const {
      ::operator delete[](p, std::align_val_t{kThreadBufferAlignment});
    }
  };
  thread_local std::unique_ptr<std::byte[], Free> buffer;
  thread_local std::size_t capacity = 0;
  if (capacity < size) {
    buffer.reset(
        static_cast<std::byte*>(::operator new[](size, std::align_val_t{kThreadBufferAlignment})));
    capacity = size;
  }
  return {buffer.get(), size};
}

}  // namespace ecr
