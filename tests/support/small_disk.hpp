// A small filesystem that tests fill up: a tmpfs mounted on a directory of
// their scratch space for as long as the object lives, and a filler file on
// it that takes the space a test wants gone.
//
//   SmallDisk disk;
//   if (auto error = disk.mount(scratch.path() / "disk", 16)) FAIL() << *error;
//   disk.fill(3 << 20);   // 3 MiB left free
//   ... run out of space ...
//   disk.unfill();        // the space is back
//
// Mounting needs root (CAP_SYS_ADMIN); callers skip when not root and fail
// when root cannot mount.
#pragma once

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>

namespace ecr::testing {

class SmallDisk {
 public:
  SmallDisk() = default;
  SmallDisk(const SmallDisk&) = delete;
  SmallDisk& operator=(const SmallDisk&) = delete;
  // Unmounts; a process still holding a file open there makes the mount
  // busy, and it is detached instead.
  ~SmallDisk() {
    if (!dir_.empty() && ::umount2(dir_.c_str(), 0) != 0) ::umount2(dir_.c_str(), MNT_DETACH);
  }

  // Mounts a `mib` MiB tmpfs on `dir` (created when missing). Returns why it
  // could not, naming the directory, or nullopt.
  std::optional<std::string> mount(const std::filesystem::path& dir, int mib) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    const std::string options = "size=" + std::to_string(mib) + "m";
    if (::mount("tmpfs", dir.c_str(), "tmpfs", 0, options.c_str()) != 0) {
      return "cannot mount a " + std::to_string(mib) + " MiB tmpfs on " + dir.string() +
             " (needed to run out of space): " + std::strerror(errno);
    }
    dir_ = dir;
    return std::nullopt;
  }

  const std::filesystem::path& path() const noexcept { return dir_; }
  std::filesystem::path filler() const { return dir_ / "filler"; }

  // Writes the filler until the disk is full, then gives back `leave` bytes
  // of it. Returns the bytes free then, or nullopt when the filler could not
  // be written (errno says why).
  std::optional<std::int64_t> fill(std::int64_t leave) {
    const int fd = ::open(filler().c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return std::nullopt;
    const std::string chunk(1 << 20, '\0');
    std::int64_t size = 0;
    for (;;) {
      const ssize_t n = ::write(fd, chunk.data(), chunk.size());
      if (n > 0) {
        size += n;
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      break;
    }
    const bool full = errno == ENOSPC;
    const bool cut = ::ftruncate(fd, static_cast<off_t>(size > leave ? size - leave : 0)) == 0;
    ::close(fd);
    if (!full || !cut) return std::nullopt;
    return free_bytes();
  }
  // Removes the filler: the space is back.
  void unfill() {
    std::error_code ec;
    std::filesystem::remove(filler(), ec);
  }

  std::int64_t free_bytes() const {
    struct statvfs st {};
    if (::statvfs(dir_.c_str(), &st) != 0) return -1;
    return static_cast<std::int64_t>(st.f_bavail) * static_cast<std::int64_t>(st.f_frsize);
  }

 private:
  std::filesystem::path dir_;
};

}  // namespace ecr::testing
