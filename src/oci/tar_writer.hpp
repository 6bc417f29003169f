// Writes a tar archive to "<target>.tmp-XXXXXXXX" and renames it to `target`
// on commit(); destroyed without commit, it removes the temp file. Entries get
// fixed metadata (mtime 0, uid/gid 0, modes 0644/0755), so the same content
// always gives the same archive bytes.
#pragma once

#include <archive.h>

#include <filesystem>
#include <memory>
#include <string_view>

namespace ecr::oci {

class TarWriter {
 public:
  explicit TarWriter(std::filesystem::path target);
  ~TarWriter();
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
  std::filesystem::path tmp_;
  int fd_ = -1;
  std::unique_ptr<archive, ArchiveWriteCloser> a_;
  bool committed_ = false;
  std::size_t unsynced_ = 0;
};

}  // namespace ecr::oci
