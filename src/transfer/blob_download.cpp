#include "transfer/blob_download.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "ecr/errors.hpp"

namespace ecr::transfer {

RangeWriter file_range_writer(int fd) {
  return [fd](std::int64_t offset, std::string_view bytes) {
    std::size_t written = 0;
    while (written < bytes.size()) {
      const ssize_t n = ::pwrite(fd, bytes.data() + written, bytes.size() - written,
                                 static_cast<off_t>(offset + static_cast<std::int64_t>(written)));
      if (n < 0) {
        if (errno == EINTR) continue;
        throw InputError("writing a downloaded blob: " + std::string(std::strerror(errno)));
      }
      written += static_cast<std::size_t>(n);
    }
  };
}

void BlobFetch::add_progress(std::int64_t n) {
  std::int64_t done = 0;
  {
    const std::lock_guard lock(mutex_);
    received_ += n;
    if (received_ - reported_ < kProgressStep && received_ < d_.size) return;
    reported_ = received_;
    done = received_;
  }
  reporter_.report(d_.digest, BlobState::kDownloading, std::min(done, d_.size), d_.size);
}

std::int64_t BlobFetch::bytes_received() const {
  const std::lock_guard lock(mutex_);
  return received_;
}

void BlobFetch::fetch(std::int64_t begin, std::int64_t end) {
  get_range(
      session_, url_, d_, begin, end,
      [this](std::int64_t offset, std::string_view bytes) {
        write_(offset, bytes);
        add_progress(static_cast<std::int64_t>(bytes.size()));
      },
      [this] { return reporter_.cancelled(); });
}

Digest hash_file(int fd, std::int64_t size) {
  Sha256 hash;
  std::vector<char> buffer(1 << 20);
  std::int64_t off = 0;
  while (off < size) {
    const auto want = static_cast<std::size_t>(
        std::min<std::int64_t>(size - off, static_cast<std::int64_t>(buffer.size())));
    const ssize_t n = ::pread(fd, buffer.data(), want, static_cast<off_t>(off));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw InputError("reading back a downloaded blob failed");
    hash.update(buffer.data(), static_cast<std::size_t>(n));
    off += n;
  }
  return hash.finish();
}

}  // namespace ecr::transfer
