#include "transfer/layer_upload.hpp"

#include <cstring>
#include <optional>

#include "core/base64.hpp"
#include "core/json_writer.hpp"
#include "ecr/errors.hpp"

namespace ecr::transfer {

void build_upload_part_body(std::string& out, const std::optional<std::string>& registry_id,
                            std::string_view repository, std::string_view upload_id,
                            std::int64_t first_byte, std::string_view part) {
  out.clear();
  json::Writer w(out);
  w.begin_object();
  if (registry_id) {
    w.key("registryId");
    w.string(*registry_id);
  }
  w.key("repositoryName");
  w.string(repository);
  w.key("uploadId");
  w.string(upload_id);
  w.key("partFirstByte");
  w.integer(first_byte);
  w.key("partLastByte");
  w.integer(first_byte + static_cast<std::int64_t>(part.size()) - 1);
  w.key("layerPartBlob");
  char* encoded = w.string_in_place(base64::encoded_size(part.size()));
  base64::encode_to(part, encoded);
  w.end_object();
}

namespace {

// Reads from `reader` until `buffer` holds `size` bytes.
void fill(BlobReader& reader, std::string& buffer, std::size_t size) {
  std::size_t have = buffer.size();
  buffer.resize(size);
  while (have < size) {
    const std::size_t n = reader.read(
        std::span<std::byte>(reinterpret_cast<std::byte*>(buffer.data()) + have, size - have));
    if (n == 0) {
      throw IntegrityError("blob " + reader.descriptor().digest.str() + " ended after " +
                           std::to_string(reader.position()) + " bytes; its descriptor says " +
                           std::to_string(reader.size()));
    }
    have += n;
  }
}

// Reads the end of the blob so BlobReader verifies its digest and size.
void finish_reading(BlobReader& reader) {
  std::byte extra[1];
  if (reader.read(std::span<std::byte>(extra, 1)) != 0) {
    throw IntegrityError("blob " + reader.descriptor().digest.str() + " is longer than its size " +
                         std::to_string(reader.size()));
  }
}

class LayerUpload {
 public:
  LayerUpload(RegistrySession& session, const Descriptor& d, const BlobOpener& open,
              PartBuffer& buffer, std::int64_t fallback_part_size, Reporter& reporter,
              UploadStats& stats)
      : session_(session),
        d_(d),
        open_(open),
        buffer_(buffer),
        fallback_part_size_(fallback_part_size),
        reporter_(reporter),
        stats_(stats) {}

  void run() {
    api::InitiateLayerUploadRequest init;
    init.registryId = session_.registry_id();
    init.repositoryName = session_.repository();
    const auto started =
        session_.call<api::InitiateLayerUploadResponse>("InitiateLayerUpload", init);
    if (!started.uploadId) throw InputError("InitiateLayerUpload answered no uploadId");
    const std::int64_t part_size = started.partSize.value_or(fallback_part_size_);
    if (part_size < 1 || part_size > kMaxPartBlobBytes) {
      throw InputError("InitiateLayerUpload answered partSize " + std::to_string(part_size) +
                       "; a part holds 1 to " + std::to_string(kMaxPartBlobBytes) + " bytes");
    }
    send_parts(*started.uploadId, part_size);
    complete(*started.uploadId);
  }

 private:
  // The part buffer holds blob bytes [buffered_first_, buffered_first_ +
  // raw.size()); the reader stands at the end of that range.
  void send_parts(const std::string& upload_id, std::int64_t part_size) {
    std::string& raw = buffer_.raw;
    raw.clear();
    reader_.emplace(open_());
    buffered_first_ = 0;
    std::int64_t next = 0;  // first byte the registry has not acknowledged
    int resumes = 0;
    reporter_.report(d_.digest, BlobState::kUploading, 0, d_.size);
    while (next < d_.size) {
      reporter_.throw_if_cancelled();
      const auto len = static_cast<std::size_t>(std::min(part_size, d_.size - next));
      position_buffer_at(next);
      fill(*reader_, raw, len);
      build_upload_part_body(buffer_.body, session_.registry_id(), session_.repository(),
                             upload_id, next, std::string_view(raw.data(), len));
      stats_.bytes_sent += static_cast<std::int64_t>(len);
      try {
        session_.call_raw("UploadLayerPart", buffer_.body);
        next += static_cast<std::int64_t>(len);
      } catch (const api::InvalidLayerPartException& e) {
        // The registry kept fewer bytes than sent (a connection reset mid-part
        // or a retried part it already partly had): go on after the last byte
        // it holds, not from the start.
        if (!e.lastValidByteReceived() || ++resumes > kMaxPartResumes) throw;
        const std::int64_t resume_at = *e.lastValidByteReceived() + 1;
        if (resume_at < 0 || resume_at > next + static_cast<std::int64_t>(len)) throw;
        next = resume_at;
      }
      reporter_.report(d_.digest, BlobState::kUploading, next, d_.size);
    }
    position_buffer_at(d_.size);
    finish_reading(*reader_);
  }

  // Makes the buffer start at blob byte `at`, keeping bytes already read when
  // `at` falls inside it and re-reading from the source when it precedes it.
  void position_buffer_at(std::int64_t at) {
    std::string& raw = buffer_.raw;
    const std::int64_t end = buffered_first_ + static_cast<std::int64_t>(raw.size());
    if (at >= buffered_first_ && at <= end) {
      raw.erase(0, static_cast<std::size_t>(at - buffered_first_));
      buffered_first_ = at;
      return;
    }
    reader_.emplace(open_());
    raw.clear();
    std::int64_t skipped = 0;
    while (skipped < at) {
      const auto n = static_cast<std::size_t>(std::min<std::int64_t>(at - skipped, 1 << 20));
      raw.clear();
      fill(*reader_, raw, n);
      skipped += static_cast<std::int64_t>(n);
    }
    raw.clear();
    buffered_first_ = at;
  }

  void complete(const std::string& upload_id) {
    api::CompleteLayerUploadRequest req;
    req.registryId = session_.registry_id();
    req.repositoryName = session_.repository();
    req.uploadId = upload_id;
    req.layerDigests = {d_.digest.str()};
    try {
      const auto done =
          session_.call<api::CompleteLayerUploadResponse>("CompleteLayerUpload", req);
      if (done.layerDigest && *done.layerDigest != d_.digest.str()) {
        throw IntegrityError("CompleteLayerUpload for " + d_.digest.str() +
                             " answered layer digest " + *done.layerDigest);
      }
    } catch (const api::LayerAlreadyExistsException&) {
      // Another pusher finished the same blob first: it is there, as wanted.
    }
  }

  RegistrySession& session_;
  const Descriptor& d_;
  const BlobOpener& open_;
  PartBuffer& buffer_;
  std::int64_t fallback_part_size_;
  Reporter& reporter_;
  UploadStats& stats_;
  std::optional<BlobReader> reader_;
  std::int64_t buffered_first_ = 0;
};

}  // namespace

UploadStats upload_blob(RegistrySession& session, const Descriptor& descriptor,
                        const BlobOpener& open, PartBufferPool& pool,
                        std::int64_t fallback_part_size, Reporter& reporter) {
  PartBufferPool::Lease buffer = pool.acquire();
  UploadStats stats;
  for (int restart = 0;; ++restart) {
    try {
      LayerUpload(session, descriptor, open, *buffer, fallback_part_size, reporter, stats).run();
      return stats;
    } catch (const api::UploadNotFoundException&) {
      // The upload vanished (expired, or the registry lost it): only a new
      // upload from byte 0 can succeed.
      if (restart >= kMaxUploadRestarts) throw;
    }
  }
}

}  // namespace ecr::transfer
