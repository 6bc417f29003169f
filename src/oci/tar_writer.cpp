#include "oci/tar_writer.hpp"

#include <archive_entry.h>
#include <fcntl.h>

#include <cstring>
#include <vector>

#include "core/thread_buffer.hpp"
#include "ecr/error.hpp"
#include "oci/file_io.hpp"

namespace ecr::oci {
namespace {

// Tags the buffer add_file() copies through (core/thread_buffer.hpp).
struct TarCopy;

struct EntryFree {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};
using EntryPtr = std::unique_ptr<archive_entry, EntryFree>;

EntryPtr make_entry(std::string_view name, mode_t type, int perm, std::int64_t size) {
  EntryPtr e(archive_entry_new());
  archive_entry_copy_pathname(e.get(), std::string(name).c_str());
  archive_entry_set_filetype(e.get(), type);
  archive_entry_set_perm(e.get(), perm);
  archive_entry_set_size(e.get(), size);
  archive_entry_set_mtime(e.get(), 0, 0);
  archive_entry_set_uid(e.get(), 0);
  archive_entry_set_gid(e.get(), 0);
  return e;
}

// The format both TarWriter and TarLayout write: pax (restricted), ustar
// where the names fit, extended headers otherwise; the last block not
// padded, so the bytes written do not depend on the block size.
void set_format(archive* a) {
  archive_write_set_format_pax_restricted(a);
  archive_write_add_filter_none(a);
  archive_write_set_bytes_in_last_block(a, 1);
}

// Where TarLayout's libarchive writer output goes: headers are kept,
// everything else (the zeros standing in for data, padding, the end blocks)
// only counted.
struct LayoutOutput {
  std::int64_t position = 0;
  std::string* keep = nullptr;

  static la_ssize_t write(archive*, void* self, const void* buffer, std::size_t length) {
    auto* out = static_cast<LayoutOutput*>(self);
    if (out->keep) out->keep->append(static_cast<const char*>(buffer), length);
    out->position += static_cast<std::int64_t>(length);
    return static_cast<la_ssize_t>(length);
  }
};

[[noreturn]] void throw_layout_error(archive* a, std::string_view what) {
  const char* msg = archive_error_string(a);
  throw InputError("laying out a tar (" + std::string(what) +
                   "): " + (msg ? msg : "unknown error"));
}

}  // namespace

TarWriter::TarWriter(std::filesystem::path target)
    : target_(std::move(target)), temp_(target_), a_(archive_write_new()) {
  set_format(a_.get());
  // libarchive writes in blocks of this size (10 KiB by default: one write()
  // per 10 KiB of a 770 MB archive).
  archive_write_set_bytes_per_block(a_.get(), kWriteBlockBytes);
  check(archive_write_open_fd(a_.get(), temp_.fd()), "open");
}

void TarWriter::check(int rc, std::string_view what) {
  if (rc < ARCHIVE_WARN) {
    // libarchive's fd writer says only "Write error"; the errno it keeps
    // says why (ENOSPC: "No space left on device").
    const char* msg = archive_error_string(a_.get());
    const int err = archive_errno(a_.get());
    std::string why = msg ? msg : "unknown error";
    if (err > 0 && why.find(std::strerror(err)) == std::string::npos) {
      why += std::string(": ") + std::strerror(err);
    }
    throw InputError("cannot write " + temp_.path().string() + " (" + std::string(what) +
                     "): " + why);
  }
}

void TarWriter::add_directory(std::string_view name) {
  auto e = make_entry(name, AE_IFDIR, 0755, 0);
  check(archive_write_header(a_.get(), e.get()), name);
}

void TarWriter::add_bytes(std::string_view name, std::string_view data) {
  auto e = make_entry(name, AE_IFREG, 0644, static_cast<std::int64_t>(data.size()));
  check(archive_write_header(a_.get(), e.get()), name);
  if (!data.empty() && archive_write_data(a_.get(), data.data(), data.size()) < 0) {
    check(ARCHIVE_FATAL, name);
  }
}

void TarWriter::add_file(std::string_view name, const std::filesystem::path& source) {
  auto fd = open_regular_file(source);
  const std::int64_t size = file_size(fd->get());
  auto e = make_entry(name, AE_IFREG, 0644, size);
  check(archive_write_header(a_.get(), e.get()), name);
  FileRangeStream in(fd, 0, size);
  const std::span<std::byte> buf = thread_buffer<TarCopy>(1 << 20);
  while (std::size_t n = in.read(buf)) {
    if (archive_write_data(a_.get(), buf.data(), n) < 0) check(ARCHIVE_FATAL, name);
    start_writeback(n);
  }
}

void TarWriter::start_writeback(std::size_t bytes) {
  // Starts writing what is dirty to disk while the archive is still being
  // written, so that commit()'s fsync has less left to wait for. Only a
  // hint: its failure changes nothing.
  unsynced_ += bytes;
  if (unsynced_ < kWritebackBytes) return;
  unsynced_ = 0;
  ::sync_file_range(temp_.fd(), 0, 0, SYNC_FILE_RANGE_WRITE);
}

void TarWriter::commit() {
  check(archive_write_close(a_.get()), "close");
  temp_.commit(target_);
}

TarLayout::TarLayout(const std::vector<Member>& members) {
  const std::unique_ptr<archive, decltype(&archive_write_free)> a(archive_write_new(),
                                                                  &archive_write_free);
  set_format(a.get());
  // Unblocked, so every header reaches LayoutOutput as it is made, at its
  // offset.
  archive_write_set_bytes_per_block(a.get(), 0);
  LayoutOutput out;
  if (archive_write_open2(a.get(), &out, nullptr, &LayoutOutput::write, nullptr, nullptr) !=
      ARCHIVE_OK) {
    throw_layout_error(a.get(), "open");
  }
  for (const auto& m : members) {
    // The previous member's data (zeros here) and padding, before the header.
    if (archive_write_finish_entry(a.get()) < ARCHIVE_WARN) throw_layout_error(a.get(), m.name);
    Header& h = headers_.emplace_back(Header{.offset = out.position, .bytes = {}});
    out.keep = &h.bytes;
    auto e = m.directory ? make_entry(m.name, AE_IFDIR, 0755, 0)
                         : make_entry(m.name, AE_IFREG, 0644, m.size);
    const int rc = archive_write_header(a.get(), e.get());
    out.keep = nullptr;
    if (rc < ARCHIVE_WARN) throw_layout_error(a.get(), m.name);
    data_offsets_.push_back(out.position);
  }
  if (archive_write_close(a.get()) != ARCHIVE_OK) throw_layout_error(a.get(), "close");
  size_ = out.position;
}

}  // namespace ecr::oci
