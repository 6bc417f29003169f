// An Amazon ECR repository as an ImageSink: what a push writes into.
//   has_blobs            BatchCheckLayerAvailability, kBatchCheckLimit digests a call
//   copy_blob            InitiateLayerUpload, UploadLayerPart (pipelined, resumed
//                        from lastValidByteReceived), CompleteLayerUpload
//                        (layer_upload.hpp), reading the blob again from the
//                        source when a resume needs bytes no longer held
//   write_streamed_blob  the same upload, fed as the blob is produced (a layer
//                        compressed on the way); its digest is finished at the end
//   write_manifest       PutImage: by digest, or the root under each tag
// Blobs may be written from several threads at once; each upload holds
// kPartBuffersPerUpload buffers from one pool sized for `jobs` uploads.
// Everything written is visible at once: commit() has nothing to do.
#pragma once

#include <cstdint>
#include <memory>

#include "ecr/image.hpp"
#include "transfer/part_buffer_pool.hpp"
#include "transfer/registry_session.hpp"

namespace ecr::transfer {

// BatchCheckLayerAvailability takes at most 100 layerDigests (the model's
// BatchedOperationLayerDigestList max).
inline constexpr std::size_t kBatchCheckLimit = 100;

class EcrImageSink final : public ImageSink {
 public:
  // `part_size` is used when the registry's InitiateLayerUpload names none.
  EcrImageSink(std::shared_ptr<RegistrySession> session, int jobs, std::int64_t part_size);

  SinkTraits traits() const override {
    return {.accepts_index = true,
            .wants_compressed_layers = true,
            .places_files = false,
            .concurrent_writes = true,
            .written_as = BlobAction::kUploaded,
            .holds_referrers = true};
  }
  bool has_blob(const Digest& digest) override;
  std::vector<bool> has_blobs(const std::vector<Descriptor>& blobs,
                              TransferContext& context) override;
  // One pass over `in`: an upload that would need its bytes again (a lost
  // part the pipeline no longer holds) fails with TransportError.
  void write_blob(BlobReader& in) override;
  void copy_blob(ImageSource& source, const Descriptor& descriptor,
                 TransferContext& context) override;
  Descriptor write_streamed_blob(const StreamedBlob& blob, TransferContext& context) override;
  // PutImage of `manifest`: by digest when `names` is empty, else once under
  // each tag. ImageAlreadyExistsException (the same manifest under the same
  // tag) is success. Throws IntegrityError when PutImage answers another
  // digest.
  void write_manifest(const ParsedManifest& manifest, const std::vector<std::string>& names,
                      bool root) override;
  void commit() override {}

 private:
  std::shared_ptr<RegistrySession> session_;
  std::int64_t part_size_;
  PartBufferPool pool_;
};

// CreateRepository of `session`'s repository; one that exists already is fine.
void create_repository(RegistrySession& session);

}  // namespace ecr::transfer
