#include "core/direct_writer.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace ecr {
namespace {

std::int64_t round_up(std::int64_t n) {
  constexpr auto kPage = static_cast<std::int64_t>(kDirectPage);
  return (n + kPage - 1) / kPage * kPage;
}

std::int64_t round_down(std::int64_t n) {
  constexpr auto kPage = static_cast<std::int64_t>(kDirectPage);
  return n / kPage * kPage;
}

}  // namespace

DirectWriter::DirectWriter(int fd, std::filesystem::path path) : fd_(fd), path_(std::move(path)) {
  // A new open file description: O_DIRECT set on `fd` (fcntl) would apply
  // to every write through it, headers and ragged ends included.
  const std::string proc = "/proc/self/fd/" + std::to_string(fd);
  direct_ = UniqueFd(::open(proc.c_str(), O_WRONLY | O_DIRECT | O_CLOEXEC));
  direct_ok_ = direct_.valid();
}

std::size_t DirectWriter::write_at(std::span<const std::byte> data, std::int64_t offset) {
  const auto end = offset + static_cast<std::int64_t>(data.size());
  const std::int64_t first = std::min(round_up(offset), end);
  const std::int64_t last = std::max(first, round_down(end));
  const auto address = reinterpret_cast<std::uintptr_t>(data.data());
  const bool aligned = (address - static_cast<std::uintptr_t>(offset)) % kDirectPage == 0;
  if (!aligned || last == first || !direct_possible()) {
    write_all_at(fd_, data, offset, path_);
    return data.size();
  }
  write_all_at(fd_, data.first(static_cast<std::size_t>(first - offset)), offset, path_);
  const std::size_t cached = write_direct(
      data.subspan(static_cast<std::size_t>(first - offset), static_cast<std::size_t>(last - first)),
      first);
  write_all_at(fd_, data.subspan(static_cast<std::size_t>(last - offset)), last, path_);
  return data.size() - static_cast<std::size_t>(last - first) + cached;
}

std::size_t DirectWriter::write_direct(std::span<const std::byte> data, std::int64_t offset) {
  bool wrote_some = false;
  while (!data.empty()) {
    const ssize_t n = ::pwrite(direct_.get(), data.data(), data.size(), static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EINVAL) {
      // Refused at the first write: the file system wants another alignment,
      // or has no direct I/O. Later (after a short write left the rest
      // unaligned): only this write's rest goes through the page cache.
      if (!wrote_some) direct_ok_ = false;
      write_all_at(fd_, data, offset, path_);
      return data.size();
    }
    if (n < 0) throw_file_error("write", path_);
    wrote_some = true;
    data = data.subspan(static_cast<std::size_t>(n));
    offset += n;
  }
  return 0;
}

}  // namespace ecr
