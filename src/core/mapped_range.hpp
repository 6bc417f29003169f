// A read-only mapping of a stretch of a file, read with no copy and no system
// call per read: a push encodes each part of a blob in a file straight from
// the page cache (transfer/layer_upload.hpp, PartBytes).
//
// A file cut short while it is mapped reads as zeros to the end of its new
// last page, and raises SIGBUS past it, which would end the process. Reads
// of the mapping therefore go through read(), which turns that SIGBUS into
// an InputError saying the file shrank, and checks the file's size after a
// read that reaches the mapping's last page (where no later page faults to
// reveal the zeros). The first read() installs a SIGBUS handler for the
// process; a SIGBUS that is not a read() of a MappedRange is left to the
// handler that was there before (by default: the process ends, as without
// this one).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <type_traits>

namespace ecr {

class MappedRange {
 public:
  // Maps bytes [offset, offset + size) of `fd` (not owned; open for as long
  // as the mapping lives), its pages faulted in as they are read. nullptr
  // when the file cannot be mapped (a pipe, a filesystem without mmap, an
  // empty range): the caller reads it instead.
  static std::unique_ptr<const MappedRange> map(int fd, std::int64_t offset, std::size_t size);
  ~MappedRange();
  MappedRange(const MappedRange&) = delete;
  MappedRange& operator=(const MappedRange&) = delete;

  std::size_t size() const noexcept { return size_; }

  // Runs `reading(bytes)` on the mapped bytes [begin, end), which it may read
  // and nothing else. Throws InputError ("the file ends before byte N: it
  // shrank while it was read", N counted in the file) when the file no
  // longer holds all of them: a page of them that is gone raises SIGBUS,
  // and `reading` is left by a jump, so it must hold nothing that needs
  // releasing (no lock, no allocation, no object with a destructor of its
  // own). A file cut inside a page reads as zeros to that page's end: a
  // read that goes on into the next page faults there, and one that reaches
  // the mapping's last page is followed by a check of the file's size. So a
  // caller that reads every byte, in any number of reads, meets the error.
  template <class Reading>
  void read(std::size_t begin, std::size_t end, Reading&& reading) const {
    using Fn = std::remove_reference_t<Reading>;
    const std::span<const std::byte> bytes(data_ + begin, end - begin);
    struct Call {
      Fn* fn;
      std::span<const std::byte> bytes;
    } call{&reading, bytes};
    read_guarded(
        bytes, [](void* c) { (*static_cast<Call*>(c)->fn)(static_cast<Call*>(c)->bytes); }, &call);
  }

 private:
  MappedRange(int fd, void* mapping, std::size_t mapping_size, const std::byte* data,
              std::size_t size, std::int64_t offset)
      : fd_(fd),
        mapping_(mapping),
        mapping_size_(mapping_size),
        data_(data),
        size_(size),
        offset_(offset) {}
  void read_guarded(std::span<const std::byte> bytes, void (*reading)(void*), void* context) const;

  int fd_;
  void* mapping_;
  std::size_t mapping_size_;
  const std::byte* data_;
  std::size_t size_;
  std::int64_t offset_;  // of data_ in the file
};

}  // namespace ecr
