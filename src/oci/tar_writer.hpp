// Writes a tar archive to a TempFile next to `target` and renames it to
// `target` on commit(); destroyed without commit, the temp file goes. Entries get
// fixed metadata (mtime 0, uid/gid 0, modes 0644/0755), so the same content
// always gives the same archive bytes.
#pragma once

#include <archive.h>

#include <filesystem>
#include <memory>
#include <string_view>

#include "core/file.hpp"

namespace ecr::oci {

class TarWriter {
 public:
  explicit TarWriter(std::filesystem::path target);
  TarWriter(const TarWriter&) = delete;
  TarWriter& operator=(const TarWriter&) = delete;

  void add_directory(std::string_view name);
  void add_bytes(std::string_view name, std::string_view data);
  void add_file(std::string_view name, const std::filesystem::path& source);
  void commit();

 private:
  struct ArchiveWriteCloser {
    void operator()(archive* a) const { archive_write_free(a); }
  };
  // Bytes per write() to the archive, and written bytes between two starts
  // of writeback (start_writeback).
  static constexpr int kWriteBlockBytes = 1 << 20;
  static constexpr std::size_t kWritebackBytes = 8 << 20;

  void check(int rc, std::string_view what);
  void start_writeback(std::size_t bytes);
  std::filesystem::path target_;
  TempFile temp_;
  std::unique_ptr<archive, ArchiveWriteCloser> a_;  // after temp_: freed before the file goes
  std::size_t unsynced_ = 0;
};

}  // namespace ecr::oci
