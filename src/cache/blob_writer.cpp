// BlobWriter: temp file, hash while writing; commit_blob verifies, fsyncs and
// renames into place.
#include <fcntl.h>

#include <stdexcept>

#include "cache/blob_writer_impl.hpp"
#include "cache/file_ops.hpp"
#include "core/blob_commit.hpp"
#include "core/direct_writer.hpp"
#include "ecr/cache.hpp"
#include "ecr/error.hpp"

namespace ecr {

namespace fs = std::filesystem;

BlobWriter::BlobWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
BlobWriter::~BlobWriter() { abort(); }
BlobWriter::BlobWriter(BlobWriter&&) noexcept = default;
BlobWriter& BlobWriter::operator=(BlobWriter&& other) noexcept {
  if (this != &other) {
    abort();
    impl_ = std::move(other.impl_);
  }
  return *this;
}

std::int64_t BlobWriter::size() const noexcept {
  if (!impl_) return 0;
  const std::lock_guard lock(impl_->mutex);
  return impl_->written;
}

void BlobWriter::write(std::span<const std::byte> data) {
  if (!impl_ || impl_->done) throw std::logic_error("BlobWriter::write after commit or abort");
  Impl& w = *impl_;
  if (w.ranged) throw std::logic_error("BlobWriter::write on a ranged writer (use write_at)");
  const auto after = w.written + static_cast<std::int64_t>(data.size());
  if (w.expected_size && after > *w.expected_size) {
    abort();
    throw IntegrityError("blob " + w.digest.str() + ": more bytes than its size " +
                         std::to_string(*w.expected_size) + " (at least " + std::to_string(after) +
                         ")");
  }
  w.temp.write(data);
  w.hash.update(data.data(), data.size());
  w.written = after;
}

void BlobWriter::write_at(std::int64_t offset, std::span<const std::byte> data) {
  if (!impl_ || impl_->done) throw std::logic_error("BlobWriter::write_at after commit or abort");
  Impl& w = *impl_;
  if (!w.ranged) throw std::logic_error("BlobWriter::write_at on a sequential writer");
  const auto end = offset + static_cast<std::int64_t>(data.size());
  if (offset < 0 || end > *w.expected_size) {
    throw IntegrityError("blob " + w.digest.str() + ": bytes " + std::to_string(offset) + ".." +
                         std::to_string(end) + " lie outside its size " +
                         std::to_string(*w.expected_size));
  }
  // Through the page cache, not past it as an oci-archive's slots write
  // (core/direct_writer.hpp): a pull into an OCI layout from an ecr-local
  // on the same disk took 22-40% longer so, each worker waiting for the
  // device while the server read from it (docs/performance.md, 08:15).
  write_and_hash({.fd = w.temp.fd(), .path = w.temp.path(), .turn = w.write_turn}, *w.ranged,
                 offset, data);
  // Starts writing these pages to disk now, while the download goes on, so
  // that commit()'s fsync has less left to wait for (about 5% off a cold
  // pull of the bench image). Only a hint: its failure changes nothing.
  ::sync_file_range(w.temp.fd(), offset, static_cast<off_t>(data.size()), SYNC_FILE_RANGE_WRITE);
  // Hashed bytes are never read back, and a pull hands the sink the cached
  // file (a link): their pages may go once written back.
  w.dropped.advance(w.temp.fd(), w.ranged->hashed());
  const std::lock_guard lock(w.mutex);
  w.written += static_cast<std::int64_t>(data.size());
}

fs::path BlobWriter::commit() {
  if (!impl_ || impl_->done) throw std::logic_error("BlobWriter::commit after commit or abort");
  Impl& w = *impl_;
  // Any failure below ends this writer with its temp file removed.
  struct AbortUnlessCommitted {
    BlobWriter& writer;
    ~AbortUnlessCommitted() { writer.abort(); }
  } const abort_on_failure{*this};
  if (!w.ranged && w.expected_size && w.written != *w.expected_size) {
    throw IntegrityError("blob " + w.digest.str() + ": expected " +
                         std::to_string(*w.expected_size) + " bytes, got " +
                         std::to_string(w.written));
  }
  const Digest found = w.ranged ? w.ranged->finish() : w.hash.finish();
  if (commit_blob(w.temp, w.digest, found, w.written, w.target) == BlobCommit::kAlreadyPresent) {
    // Another writer got there first with the same verified bytes: its file is
    // kept (readers may hold it open) and this write counts as a use.
    cache::touch(w.target);
  }
  w.done = true;
  return w.target;
}

void BlobWriter::abort() noexcept {
  if (!impl_ || impl_->done) return;
  impl_->temp.remove();
  impl_->done = true;
}

}  // namespace ecr
