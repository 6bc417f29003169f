#include "oci/file_io.hpp"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>
#include <vector>

#include "ecr/error.hpp"

namespace ecr::oci {
namespace {

std::string errno_text() { return std::strerror(errno); }

std::string random_suffix() {
  static constexpr char kChars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::random_device rd;
  std::string s;
  for (int i = 0; i < 8; ++i) s += kChars[rd() % (sizeof kChars - 1)];
  return s;
}

}  // namespace

std::shared_ptr<UniqueFd> open_regular_file(const std::filesystem::path& path) {
  return std::make_shared<UniqueFd>(ecr::open_regular_file(path));
}

std::int64_t file_size(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw InputError("cannot stat file: " + errno_text());
  return st.st_size;
}

FileRangeStream::FileRangeStream(std::shared_ptr<UniqueFd> fd, std::int64_t offset,
                                 std::int64_t size)
    : fd_(std::move(fd)), offset_(offset), end_(offset + size) {}

std::size_t FileRangeStream::read(std::span<std::byte> out) {
  const auto want = static_cast<std::size_t>(
      std::min<std::int64_t>(static_cast<std::int64_t>(out.size()), end_ - offset_));
  if (want == 0) return 0;
  while (true) {
    const ssize_t n = ::pread(fd_->get(), out.data(), want, offset_);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw InputError("read failed: " + errno_text());
    offset_ += n;
    return static_cast<std::size_t>(n);
  }
}

namespace {

// [offset, offset + size) of a shared file, read with pread.
class FileRange final : public RandomAccessBytes {
 public:
  FileRange(std::shared_ptr<UniqueFd> fd, std::int64_t offset, std::int64_t size)
      : fd_(std::move(fd)), offset_(offset), size_(size) {}
  std::int64_t size() const noexcept override { return size_; }
  std::optional<InFile> in_file() const noexcept override {
    return InFile{.fd = fd_->get(), .offset = offset_};
  }
  void read_at(std::int64_t offset, std::span<std::byte> out) const override {
    while (!out.empty()) {
      const ssize_t n = ::pread(fd_->get(), out.data(), out.size(), offset_ + offset);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw InputError("read failed: " + errno_text());
      if (n == 0) {
        throw InputError("the file ends before byte " + std::to_string(offset_ + offset) +
                         ": it shrank while it was read");
      }
      offset += n;
      out = out.subspan(static_cast<std::size_t>(n));
    }
  }

 private:
  std::shared_ptr<UniqueFd> fd_;
  std::int64_t offset_;
  std::int64_t size_;
};

}  // namespace

std::shared_ptr<const RandomAccessBytes> FileRangeStream::random_access() const {
  return std::make_shared<FileRange>(fd_, offset_, end_ - offset_);
}

FileWriter::FileWriter(const std::filesystem::path& path)
    : path_(path), fd_(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) {
  if (fd_.get() < 0) throw InputError("cannot create " + path.string() + ": " + errno_text());
}

void FileWriter::write(std::span<const std::byte> data) { write_all(fd_.get(), data, path_); }

void FileWriter::finish() {
  if (::fsync(fd_.get()) != 0)
    throw InputError("cannot sync " + path_.string() + ": " + errno_text());
  UniqueFd closing = std::move(fd_);
  if (::close(closing.release()) != 0) {
    throw InputError("cannot close " + path_.string() + ": " + errno_text());
  }
}

std::size_t StringStream::read(std::span<std::byte> out) {
  const std::size_t n = std::min(out.size(), s_.size());
  std::memcpy(out.data(), s_.data(), n);
  s_.remove_prefix(n);
  return n;
}

bool link_or_copy_file(const std::filesystem::path& from, const std::filesystem::path& to) {
  if (::link(from.c_str(), to.c_str()) == 0) return true;
  if (errno == ENOENT) return false;  // `from` went away (e.g. pruned from a cache)
  // EXDEV (another filesystem), EPERM (fs.protected_hardlinks, or a
  // filesystem without links), EMLINK: copy instead.
  const UniqueFd in(::open(from.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in.valid()) return false;
  const std::int64_t size = file_size(in.get());
  TempFile out(to);
  if (::ioctl(out.fd(), FICLONE, in.get()) != 0) {
    loff_t done = 0;
    while (done < size) {
      const ssize_t n = ::copy_file_range(in.get(), nullptr, out.fd(), nullptr,
                                          static_cast<std::size_t>(size - done), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && done == 0 &&
          (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP)) {
        return false;
      }
      if (n < 0) {
        throw InputError("cannot copy " + from.string() + " to " + out.path().string() + ": " +
                         errno_text());
      }
      if (n == 0) throw InputError(from.string() + " shrank while being copied");
      done += n;
    }
  }
  out.commit(to);
  return true;
}

namespace {

constexpr std::string_view kStagingInfix = ".tmp-";
constexpr std::size_t kStagingSuffixLength = 8;  // random_suffix()

// The staging directories of `target` a killed process left: named as
// StagingDir names them and not flocked by a live one.
void remove_abandoned_staging(const std::filesystem::path& target) {
  const std::filesystem::path dir =
      target.parent_path().empty() ? std::filesystem::path(".") : target.parent_path();
  const std::string prefix = target.filename().string() + std::string(kStagingInfix);
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    std::error_code type_ec;
    if (!name.starts_with(prefix) || name.size() != prefix.size() + kStagingSuffixLength ||
        it->is_symlink(type_ec) || !it->is_directory(type_ec)) {
      continue;
    }
    const UniqueFd fd(::open(it->path().c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd.valid() || ::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) continue;  // live
    std::error_code remove_ec;
    std::filesystem::remove_all(it->path(), remove_ec);
  }
}

}  // namespace

StagingDir::StagingDir(const std::filesystem::path& target) {
  remove_abandoned_staging(target);
  for (int attempt = 0; attempt < 100; ++attempt) {
    std::filesystem::path p = target.string() + std::string(kStagingInfix) + random_suffix();
    if (::mkdir(p.c_str(), 0755) != 0) {
      if (errno == EEXIST) continue;
      throw InputError("cannot create staging directory " + p.string() + ": " + errno_text());
    }
    // Between the mkdir and the flock another StagingDir of the target may
    // have taken the directory for abandoned and removed it: then the open
    // fails or the locked directory has no links left, and another name is
    // tried.
    UniqueFd fd(::open(p.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd.valid()) {
      if (errno == ENOENT) continue;
      throw InputError("cannot open staging directory " + p.string() + ": " + errno_text());
    }
    struct stat st {};
    if (::flock(fd.get(), LOCK_EX) != 0 || ::fstat(fd.get(), &st) != 0) {
      throw InputError("cannot lock staging directory " + p.string() + ": " + errno_text());
    }
    if (st.st_nlink == 0) continue;
    path_ = std::move(p);
    lock_ = std::move(fd);
    return;
  }
  throw InputError("cannot create a staging directory next to " + target.string());
}

StagingDir::~StagingDir() {
  if (kept_) return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void StagingDir::rename_to(const std::filesystem::path& target) {
  std::error_code ec;
  std::filesystem::rename(path_, target, ec);
  if (ec)
    throw InputError("cannot rename " + path_.string() + " to " + target.string() + ": " +
                     ec.message());
  kept_ = true;
}

std::string read_stream(ByteStream& in, std::size_t max, std::string_view what) {
  std::string out;
  std::byte buf[65536];
  while (std::size_t n = in.read(buf)) {
    if (out.size() + n > max) {
      throw InputError(std::string(what) + " is larger than " + std::to_string(max) + " bytes");
    }
    out.append(reinterpret_cast<const char*>(buf), n);
  }
  return out;
}

}  // namespace ecr::oci
