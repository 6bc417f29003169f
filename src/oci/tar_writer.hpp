// Writes a tar archive to an unnamed temp file next to `target` and names it
// `target` on commit(); destroyed without commit, or killed, the temp file
// goes (UnnamedTempFile: nothing is left beside `target`). Entries get
// fixed metadata (mtime 0, uid/gid 0, modes 0644/0755), so the same content
// always gives the same archive bytes.
#pragma once

#include <archive.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

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
  UnnamedTempFile temp_;
  std::unique_ptr<archive, ArchiveWriteCloser> a_;  // after temp_: freed before the file goes
  std::size_t unsynced_ = 0;
};

// The archive TarWriter writes for members whose sizes are known before
// their data is, laid out without the data: where each member's data goes and
// the bytes of each header, so the archive can be written in place (members'
// data at their offsets, in any order) and still be byte for byte what
// TarWriter writes for the same members. The headers come from the same
// libarchive writer, set up the same way.
class TarLayout {
 public:
  struct Member {
    std::string name;
    bool directory = false;
    std::int64_t size = 0;  // 0 for a directory
  };
  // A header (with its pax extended header when the member needs one) and
  // where it goes.
  struct Header {
    std::int64_t offset = 0;
    std::string bytes;
  };

  // Lays out `members` in this order. Throws InputError when libarchive
  // refuses one.
  explicit TarLayout(const std::vector<Member>& members);

  // The archive's size in bytes.
  std::int64_t size() const noexcept { return size_; }
  // Where the data of members[i] starts.
  std::int64_t data_offset(std::size_t i) const { return data_offsets_.at(i); }
  // Every byte of the archive that is neither member data nor zero (data
  // padding and the end-of-archive blocks are zeros).
  const std::vector<Header>& headers() const noexcept { return headers_; }

 private:
  std::int64_t size_ = 0;
  std::vector<std::int64_t> data_offsets_;
  std::vector<Header> headers_;
};

}  // namespace ecr::oci
