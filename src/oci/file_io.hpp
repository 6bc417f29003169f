// Files for the image stores (on top of core/file.hpp): a stream over a byte range,
// and staging directories that vanish unless committed (DESIGN.md storage rules).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "core/file.hpp"
#include "ecr/image.hpp"

namespace ecr::oci {

// core's open_regular_file, shared by the streams reading one file (archives
// are read by many at once). Throws InputError.
std::shared_ptr<UniqueFd> open_regular_file(const std::filesystem::path& path);
std::int64_t file_size(int fd);

// Reads [offset, offset + size) of a shared file with pread, so many streams
// can read one archive at once.
class FileRangeStream final : public ByteStream {
 public:
  FileRangeStream(std::shared_ptr<UniqueFd> fd, std::int64_t offset, std::int64_t size);
  std::size_t read(std::span<std::byte> out) override;
  // What is left of the range, read with pread.
  std::shared_ptr<const RandomAccessBytes> random_access() const override;

 private:
  std::shared_ptr<UniqueFd> fd_;
  std::int64_t offset_;
  std::int64_t end_;
};

// A file being written; fsynced and closed by finish().
class FileWriter {
 public:
  explicit FileWriter(const std::filesystem::path& path);
  void write(std::span<const std::byte> data);
  void write(std::string_view data) {
    write(std::span<const std::byte>(reinterpret_cast<const std::byte*>(data.data()), data.size()));
  }
  // Flushes to disk and closes. Throws InputError on I/O failure.
  void finish();
  int fd() const noexcept { return fd_.get(); }

 private:
  std::filesystem::path path_;
  UniqueFd fd_;
};

// The bytes of a string (not owned) as a stream.
class StringStream final : public ByteStream {
 public:
  explicit StringStream(std::string_view s) : s_(s) {}
  std::size_t read(std::span<std::byte> out) override;

 private:
  std::string_view s_;
};

// A directory that is removed with its content on destruction unless kept.
// It holds an exclusive flock on itself while it lives, so the staging
// directories a killed process left (a pull killed mid-way) can be told from
// live ones: each new StagingDir of a target removes the unlocked ones.
class StagingDir {
 public:
  // Removes the staging directories of `target` that no live StagingDir
  // holds, then creates a fresh one next to `target` (same filesystem, so
  // renames into place are atomic), named "<target>.tmp-XXXXXXXX".
  explicit StagingDir(const std::filesystem::path& target);
  ~StagingDir();
  StagingDir(const StagingDir&) = delete;
  StagingDir& operator=(const StagingDir&) = delete;
  const std::filesystem::path& path() const noexcept { return path_; }
  // Renames the directory to `target` (which must not exist) and keeps it.
  void rename_to(const std::filesystem::path& target);

 private:
  std::filesystem::path path_;
  UniqueFd lock_;  // the directory, flocked until destruction
  bool kept_ = false;
};

// Makes `to` (which must not exist) a copy of the regular file `from`, whose
// bytes the caller has already verified, without reading them into this
// process: a hard link when both are on one filesystem, else a reflink or a
// copy_file_range copy into a TempFile next to `to`, committed. Returns
// false when the filesystem can do none of these (the caller then streams the
// bytes); throws InputError when the copy itself fails (disk full, I/O error),
// leaving nothing at `to`.
bool link_or_copy_file(const std::filesystem::path& from, const std::filesystem::path& to);

// Reads up to `max` bytes of a stream into a string (InputError beyond).
std::string read_stream(ByteStream& in, std::size_t max, std::string_view what);

}  // namespace ecr::oci
