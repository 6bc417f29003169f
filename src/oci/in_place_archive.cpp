#include "oci/in_place_archive.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "core/in_order_hasher.hpp"
#include "core/thread_buffer.hpp"
#include "ecr/error.hpp"
#include "oci/oci_layout.hpp"
#include "oci/tar_writer.hpp"

namespace ecr::oci {
namespace {

// Bytes per read when a blob is streamed into its place: the 1 MiB the
// staged layout's copies use (kCopyBufferBytes in oci_layout_sink.cpp).
constexpr std::size_t kCopyBufferBytes = 1 << 20;
// Bytes written between two starts of writeback: TarWriter's kWritebackBytes.
constexpr std::int64_t kWritebackBytes = 8 << 20;
// Writeback is started only up to a multiple of this: the largest folio the
// page cache keeps a file in on x86-64 (a PMD), so no folio it starts is
// still being filled.
constexpr std::int64_t kWritebackAlignment = 2 << 20;

// Where writeback of a blob at `offset` may start: its first whole folio
// (the one before may hold the end of the blob before it, still being
// written).
std::int64_t first_whole_folio(std::int64_t offset) {
  return (offset + kWritebackAlignment - 1) / kWritebackAlignment * kWritebackAlignment;
}

// Tags the buffer write() copies through (core/thread_buffer.hpp).
struct ArchiveCopy;

std::span<const std::byte> bytes_of(std::string_view s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

}  // namespace

// A blob's place in the archive, hashed as its bytes land (bytes ahead of the
// hashed prefix are read back from the page cache once it reaches them).
class InPlaceArchive::Slot final : public BlobSlot {
 public:
  Slot(InPlaceArchive& archive, Descriptor d, std::int64_t offset)
      : archive_(archive),
        d_(std::move(d)),
        offset_(offset),
        hasher_(archive.temp_.fd(), d_.size, archive.temp_.path(), offset) {}

  void write_at(std::int64_t offset, std::span<const std::byte> bytes) override {
    const auto size = static_cast<std::int64_t>(bytes.size());
    if (offset < 0 || offset > d_.size - size) {
      throw IntegrityError("blob " + d_.digest.str() + ": " + std::to_string(size) +
                           " bytes at offset " + std::to_string(offset) + " lie outside its " +
                           std::to_string(d_.size) + " bytes");
    }
    write_and_hash({.fd = archive_.temp_.fd(),
                    .path = archive_.temp_.path(),
                    .turn = archive_.write_turn_,
                    .direct = &archive_.direct_,
                    .base = offset_},
                   hasher_, offset, bytes);
    // The hashed prefix is written to its end, whichever threads wrote it.
    archive_.written_through(writeback_, offset_ + hasher_.hashed());
  }

  std::size_t page_offset(std::int64_t offset) const override {
    return static_cast<std::size_t>((offset_ + offset) % 4096);
  }

  void commit() override {
    const Digest got = hasher_.finish();
    if (got != d_.digest) {
      throw IntegrityError("blob " + d_.digest.str() + ": content hashes to " + got.str());
    }
    archive_.mark_written(d_.digest);
  }

 private:
  InPlaceArchive& archive_;
  Descriptor d_;
  std::int64_t offset_;
  InOrderHasher hasher_;
  Writeback writeback_{offset_};
};

InPlaceArchive::InPlaceArchive(std::filesystem::path target, const std::vector<Descriptor>& blobs,
                               std::string index_json, bool direct)
    : target_(std::move(target)), temp_(target_), index_json_(std::move(index_json)) {
  for (const auto& d : blobs) members_.emplace(d.digest, Member{.size = d.size});
  // The staged archive's order (OciArchiveSink::commit); members_ is in
  // digest order, which for sha256 digests is hex order.
  std::vector<TarLayout::Member> layout = {
      {.name = "oci-layout", .size = static_cast<std::int64_t>(kOciLayoutFile.size())},
      {.name = "index.json", .size = static_cast<std::int64_t>(index_json_.size())},
      {.name = "blobs", .directory = true},
      {.name = "blobs/sha256", .directory = true},
  };
  for (const auto& [digest, m] : members_) {
    layout.push_back({.name = "blobs/sha256/" + std::string(digest.hex()), .size = m.size});
  }
  const TarLayout tar(layout);
  std::size_t i = 4;
  for (auto& [digest, m] : members_) m.offset = tar.data_offset(i++);

  allocate_file(temp_.fd(), tar.size(), temp_.path());
  if (direct) direct_ = DirectWriter::open(temp_.fd(), temp_.path());
  for (const auto& h : tar.headers()) {
    write_all_at(temp_.fd(), bytes_of(h.bytes), h.offset, temp_.path());
  }
  write_all_at(temp_.fd(), bytes_of(kOciLayoutFile), tar.data_offset(0), temp_.path());
  write_all_at(temp_.fd(), bytes_of(index_json_), tar.data_offset(1), temp_.path());
}

bool InPlaceArchive::holds(const Digest& digest) const {
  const std::lock_guard lock(mutex_);
  const auto it = members_.find(digest);
  return it != members_.end() && it->second.written;
}

InPlaceArchive::Member& InPlaceArchive::member(const Descriptor& d) {
  const auto it = members_.find(d.digest);
  if (it == members_.end()) {
    throw std::logic_error("blob " + d.digest.str() + " was not in the plan the archive " +
                           target_.string() + " was laid out for");
  }
  if (it->second.size != d.size) {
    throw IntegrityError("blob " + d.digest.str() + " is described as " + std::to_string(d.size) +
                         " bytes, and as " + std::to_string(it->second.size) +
                         " bytes where the image first named it");
  }
  return it->second;
}

std::unique_ptr<BlobSlot> InPlaceArchive::slot(const Descriptor& d) {
  if (!plans(d.digest)) return nullptr;
  return std::make_unique<Slot>(*this, d, member(d).offset);
}

void InPlaceArchive::write(BlobReader& in) {
  const Member& m = member(in.descriptor());
  const std::span<std::byte> buffer = thread_buffer<ArchiveCopy>(kCopyBufferBytes);
  std::int64_t at = m.offset;
  Writeback writeback(m.offset);
  while (const std::size_t n = in.read(buffer)) {
    {
      const std::lock_guard turn(write_turn_);
      write_all_at(temp_.fd(), std::span(buffer.data(), n), at, temp_.path());
    }
    at += static_cast<std::int64_t>(n);
    written_through(writeback, at);
  }
  // The reader checked size and digest when it reached the end.
  mark_written(in.descriptor().digest);
}

bool InPlaceArchive::place(const Descriptor& d, const std::filesystem::path& file) {
  const Member& m = member(d);
  const UniqueFd in(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in.valid()) return false;
  loff_t from = 0;
  auto to = static_cast<loff_t>(m.offset);
  Writeback writeback(m.offset);
  while (from < m.size) {
    const ssize_t n = ::copy_file_range(in.get(), &from, temp_.fd(), &to,
                                        static_cast<std::size_t>(m.size - from), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && from == 0 &&
        (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP)) {
      return false;
    }
    if (n < 0) throw_file_error("copy " + file.string() + " into", temp_.path());
    if (n == 0)
      throw InputError(file.string() + " ends before its " + std::to_string(m.size) +
                       " bytes (blob " + d.digest.str() + ")");
    written_through(writeback, to);
  }
  mark_written(d.digest);
  return true;
}

void InPlaceArchive::mark_written(const Digest& digest) {
  const std::lock_guard lock(mutex_);
  members_.at(digest).written = true;
}

InPlaceArchive::Writeback::Writeback(std::int64_t blob_offset)
    : started(first_whole_folio(blob_offset)), dropped(started.load()) {}

void InPlaceArchive::written_through(Writeback& w, std::int64_t end) {
  const std::int64_t through = end / kWritebackAlignment * kWritebackAlignment;
  std::int64_t from = w.started.load();
  while (through - from >= kWritebackBytes) {
    if (w.started.compare_exchange_weak(from, through)) {
      // Only hints: their failure changes nothing.
      ::sync_file_range(temp_.fd(), from, through - from, SYNC_FILE_RANGE_WRITE);
      w.dropped.advance(temp_.fd(), through);
      return;
    }
  }
}

void InPlaceArchive::commit(std::string_view index_json) {
  if (index_json != index_json_) {
    throw std::logic_error("the image written into " + target_.string() +
                           " is listed otherwise than the archive was laid out for");
  }
  {
    const std::lock_guard lock(mutex_);
    for (const auto& [digest, m] : members_) {
      if (!m.written) {
        throw std::logic_error("blob " + digest.str() + " of " + target_.string() +
                               " was planned but never written");
      }
    }
  }
  temp_.commit(target_);
}

}  // namespace ecr::oci
