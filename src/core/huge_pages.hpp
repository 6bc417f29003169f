// Large, long-lived buffers backed by transparent huge pages.
//
// A push's part buffer (a streamed blob's 10 MiB part) is touched for the
// first time page by page: with 4 KiB pages that is a page fault per 4 KiB,
// 3,300 of them for the 13 MiB encoded part a buffer used to hold, which
// profiling a push of a three-layer image showed as 14% of ecr-push's CPU.
// Backed by 2 MiB pages the same buffer takes a few faults. Only the advice
// is given: where the kernel has transparent huge pages off, or none to
// spare, the buffer works the same on small pages.
#pragma once

#include <cstddef>
#include <string>

namespace ecr {

// Asks the kernel to back the whole 2 MiB pages inside [data, data + size)
// with huge pages when they are first touched (madvise MADV_HUGEPAGE).
void advise_huge_pages(void* data, std::size_t size) noexcept;

// Makes `buffer` hold at least `capacity` bytes, advising huge pages for new
// storage of 2 MiB or more (it then takes up to 2 MiB more than asked, so
// that whole huge pages cover the bytes asked for). Keeps its contents; does
// nothing when it is big enough already.
void reserve_huge(std::string& buffer, std::size_t capacity);

}  // namespace ecr
