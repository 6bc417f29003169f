#include "core/huge_pages.hpp"

#include <sys/mman.h>

#include <cstdint>

namespace ecr {
namespace {

constexpr std::uintptr_t kHugePage = std::uintptr_t{2} << 20;

}  // namespace

void advise_huge_pages(void* data, std::size_t size) noexcept {
  const auto begin = reinterpret_cast<std::uintptr_t>(data);
  const std::uintptr_t first = (begin + kHugePage - 1) & ~(kHugePage - 1);
  const std::uintptr_t last = (begin + size) & ~(kHugePage - 1);
  if (last <= first) return;
  // Advice only: failure (no THP support) leaves ordinary pages.
  ::madvise(reinterpret_cast<void*>(first), last - first, MADV_HUGEPAGE);
}

void reserve_huge(std::string& buffer, std::size_t capacity) {
  if (buffer.capacity() >= capacity) return;
  if (capacity < kHugePage) {  // no whole huge page fits: ordinary storage
    buffer.reserve(capacity);
    return;
  }
  // One huge page more than asked, so the 2 MiB-aligned span inside the
  // allocation still covers the size asked for.
  buffer.reserve(capacity + kHugePage);
  // Only the bytes not yet written are new pages; advising the whole
  // allocation is harmless for the ones already touched.
  advise_huge_pages(buffer.data(), buffer.capacity());
}

}  // namespace ecr
