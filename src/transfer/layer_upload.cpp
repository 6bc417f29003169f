#include "transfer/layer_upload.hpp"

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "core/base64.hpp"
#include "core/huge_pages.hpp"
#include "core/json_writer.hpp"
#include "ecr/service_errors.hpp"

namespace ecr::transfer {

namespace {

// Room kept around the blob for the members on either side of it (names of
// at most 256 characters, an upload id, two integers); more is made when
// needed.
constexpr std::size_t kTailRoom = 1024;

}  // namespace

PartBodyBuilder::PartBodyBuilder(std::string& body, std::size_t max_part, const PartHead& head,
                                 Hashing hashing)
    : body_(body), first_byte_(head.first_byte), as_encoded_(hashing == Hashing::kAsEncoded) {
  // The writer only writes whole objects: {"uploadId":...,"partFirstByte":N}
  // has its "}" turned into the blob member's start.
  std::string lead;
  json::Writer w(lead);
  w.begin_object();
  w.key("uploadId");
  w.string(head.upload_id);
  w.key("partFirstByte");
  w.integer(head.first_byte);
  w.end_object();
  lead.pop_back();
  lead += ",\"layerPartBlob\":\"";
  // Room for the largest part is reserved at once, backed by huge pages
  // (core/huge_pages.hpp), so the body never moves; but only what a part
  // needs is touched, as encode() grows the body: a body that carries a
  // config or a small layer's only part costs the memory of that part, not
  // of the largest (on this project's bench VM, touching fresh memory costs
  // 0.7 CPU s per GB: docs/performance.md). The body never shrinks: a pooled
  // body that held a part before keeps its size, so nothing is zero-filled
  // again (std::string fills what it grows by). The room for the members
  // before the blob does not depend on them (partFirstByte gains digits
  // from part to part).
  reserve_huge(body_,
               std::max(kTailRoom, lead.size()) + base64::encoded_size(max_part) + kTailRoom);
  if (body_.size() < lead.size()) body_.resize(lead.size());
  std::memcpy(body_.data(), lead.data(), lead.size());
  at_ = lead.size();
  encoded_at_ = at_;
  if (as_encoded_) {
    hash_.update(lead.data(), lead.size());
    hashed_ = at_;
  }
}

void PartBodyBuilder::encode(std::string_view bytes, PartBodyBuilder* leader) {
  const std::size_t need = at_ + base64::encoded_size(bytes.size()) + kTailRoom;
  if (body_.size() < need) body_.resize(need);
  // Encoded and hashed a slice at a time, while the slice is in the CPU's
  // cache: the SigV4 payload hash costs no second pass over the body.
  constexpr std::size_t kSlice = 3 * 16 * 1024;  // 48 KiB in, 64 KiB out
  for (std::size_t from = 0; from < bytes.size(); from += kSlice) {
    const std::size_t n = base64::encode_to(bytes.substr(from, kSlice), body_.data() + at_);
    if (as_encoded_) {
      const std::size_t beside = leader ? std::min(n, leader->at_ - leader->hashed_) : 0;
      if (beside > 0) {
        update_pair(leader->hash_, leader->body_.data() + leader->hashed_, beside, hash_,
                    body_.data() + at_, n);
        leader->hashed_ += beside;
      } else {
        hash_.update(body_.data() + at_, n);
      }
      hashed_ = at_ + n;
    }
    at_ += n;
  }
}

void PartBodyBuilder::close(const std::optional<std::string>& registry_id,
                            std::string_view repository, std::int64_t length) {
  // The string's closing quote, then the other members. The writer only
  // writes whole objects, so it writes {"partLastByte":...} and the "{" is
  // then turned into the "," that follows the blob's member.
  std::string tail = "\"";
  json::Writer w(tail);
  w.begin_object();
  w.key("partLastByte");
  w.integer(first_byte_ + length - 1);
  if (registry_id) {
    w.key("registryId");
    w.string(*registry_id);
  }
  w.key("repositoryName");
  w.string(repository);
  w.end_object();
  // tail is now "\"{...}": make it "\",...}".
  tail[1] = ',';
  if (body_.size() < at_ + tail.size()) body_.resize(at_ + tail.size());
  std::memcpy(body_.data() + at_, tail.data(), tail.size());
  at_ += tail.size();
}

PartBody PartBodyBuilder::seal() {
  hash_.update(body_.data() + hashed_, at_ - hashed_);
  hashed_ = at_;
  return PartBody{.encoded_at = encoded_at_, .size = at_, .sha256 = hash_.finish()};
}

PartBody build_upload_part_body(std::string& out, const std::optional<std::string>& registry_id,
                                std::string_view repository, std::string_view upload_id,
                                std::int64_t first_byte, std::string_view part) {
  PartBodyBuilder body(out, part.size(), PartHead{upload_id, first_byte});
  body.encode(part);
  return body.finish(registry_id, repository, static_cast<std::int64_t>(part.size()));
}

void PartWriter::write(std::span<const std::byte> bytes) {
  while (!bytes.empty()) {
    const std::span<std::byte> room = space();
    const std::size_t n = std::min(room.size(), bytes.size());
    std::memcpy(room.data(), bytes.data(), n);
    advance(n);
    bytes = bytes.subspan(n);
  }
}

BlobProducer copy_blob(ImageSource& source, const Descriptor& descriptor) {
  return [&source, &descriptor](PartWriter& out) {
    // Reads straight into the part buffer. The reader checks the size; the
    // digest is checked by the registry, which hashes every byte it receives
    // and refuses a mismatch at CompleteLayerUpload (InvalidLayerException),
    // so hashing here too would only spend a second SHA-256 pass.
    BlobReader reader = source.open_blob(descriptor, BlobReader::Check::kSizeOnly);
    while (const std::size_t n = reader.read(out.space())) out.advance(n);
    return descriptor;
  };
}

namespace {

// One encoded part waiting to be sent: `buffer->body` is the UploadLayerPart
// request for blob bytes [first, first + length), base64 from `encoded_at`.
struct SealedPart {
  PartBuffer* buffer = nullptr;
  std::int64_t first = 0;
  std::size_t length = 0;
  PartBody body;
};

// Thrown inside the producer when the sender has stopped: it only unwinds the
// producer thread.
struct PipelineStopped {};

// Thrown by the sender when the registry holds fewer bytes than the parts
// still buffered start at: the blob must be produced again from `at`.
struct Rewind {
  std::int64_t at;
};

// The hand-over between producer and sender: free buffers go one way, sealed
// parts the other, in order.
class PartChannel {
 public:
  explicit PartChannel(std::vector<PartBufferPool::Lease>& leases) {
    for (auto& lease : leases) free_.push_back(&*lease);
  }

  // Producer side.
  PartBuffer* take_free() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return stopped_ || !free_.empty(); });
    if (stopped_) throw PipelineStopped{};
    PartBuffer* b = free_.front();
    free_.pop_front();
    return b;
  }
  void push_ready(const SealedPart& part) {
    {
      const std::lock_guard lock(mutex_);
      if (stopped_) throw PipelineStopped{};
      ready_.push_back(part);
    }
    changed_.notify_all();
  }
  void finish(const Descriptor& produced) {
    {
      const std::lock_guard lock(mutex_);
      produced_ = produced;
    }
    changed_.notify_all();
  }
  void fail(std::exception_ptr error) {
    {
      const std::lock_guard lock(mutex_);
      error_ = std::move(error);
    }
    changed_.notify_all();
  }

  // Sender side: the next part, or nullopt once the producer has finished and
  // every part was taken. Rethrows the producer's failure.
  std::optional<SealedPart> pop_ready() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return !ready_.empty() || produced_ || error_; });
    if (!ready_.empty()) {
      SealedPart p = ready_.front();
      ready_.pop_front();
      return p;
    }
    if (error_) std::rethrow_exception(error_);
    return std::nullopt;
  }
  void give_back(PartBuffer* buffer) {
    {
      const std::lock_guard lock(mutex_);
      free_.push_back(buffer);
    }
    changed_.notify_all();
  }
  // Wakes a producer waiting for a buffer and makes it unwind.
  void stop() {
    {
      const std::lock_guard lock(mutex_);
      stopped_ = true;
    }
    changed_.notify_all();
  }
  const Descriptor& produced() const { return *produced_; }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<PartBuffer*> free_;
  std::deque<SealedPart> ready_;
  std::optional<Descriptor> produced_;
  std::exception_ptr error_;
  bool stopped_ = false;
};

// Cuts the producer's bytes into parts and encodes each one into the body of
// a buffer from the channel as the bytes come: they are read into `staging`
// (kPartStagingBytes, reused for every part) and encoded from there, so a part's
// raw bytes are never held whole; only bodies wait for the sender, so an
// upload holds kPartBuffersPerUpload encoded parts. Parts go in pairs: the
// first of a pair (the leader) is encoded without hashing and waits; the
// second is hashed as it is encoded, beside the leader's body (two SHA-256
// streams on one core), and both go to the sender when the second is
// sealed. Bytes before `skip_until` (already held by the registry) are
// produced, so they are hashed, but not kept.
class ChannelPartWriter final : public PartWriter {
 public:
  struct Target {
    const std::optional<std::string>& registry_id;
    const std::string& repository;
    const std::string& upload_id;
    std::int64_t part_size;
  };

  ChannelPartWriter(PartChannel& channel, const Target& target, std::string& staging,
                    std::int64_t skip_until, const TransferContext& reporter)
      : channel_(channel),
        target_(target),
        staging_(staging),
        skip_until_(skip_until),
        reporter_(reporter) {
    // Sized once; later parts and layers reuse it.
    if (staging_.size() < kPartStagingBytes) staging_.resize(kPartStagingBytes);
    take_buffer();
  }

  std::span<std::byte> space() override {
    auto* data = reinterpret_cast<std::byte*>(staging_.data());
    if (position_ < skip_until_) {
      return {data, std::min(kPartStagingBytes, static_cast<std::size_t>(skip_until_ - position_))};
    }
    return {data + staged_, std::min(kPartStagingBytes - staged_,
                                     static_cast<std::size_t>(target_.part_size) - held_)};
  }

  void advance(std::size_t n) override {
    const bool skipping = position_ < skip_until_;
    position_ += static_cast<std::int64_t>(n);
    if (skipping) {
      // The part starts where the skipping ends: nothing is encoded yet.
      first_ = position_;
      start_body();
      return;
    }
    staged_ += n;
    held_ += n;
    if (held_ == static_cast<std::size_t>(target_.part_size)) {
      seal();
      take_buffer();
    } else if (staged_ == kPartStagingBytes) {
      encode_staged();
    }
  }

  // Sends the last, partial part and tells the sender what was produced.
  void finish(const Descriptor& produced) {
    if (position_ < skip_until_) {
      throw IntegrityError("blob " + produced.digest.str() + " has " + std::to_string(position_) +
                           " bytes but the registry holds " + std::to_string(skip_until_) +
                           " of it");
    }
    if (held_ > 0) seal();
    if (leader_) send_leader();
    channel_.finish(produced);
  }

 private:
  // A sealed part waiting for the next one, beside whose body it is hashed.
  struct Leader {
    PartBuffer* buffer;
    std::int64_t first;
    std::size_t length;
    PartBodyBuilder body;
  };

  void take_buffer() {
    reporter_.throw_if_cancelled();
    current_ = channel_.take_free();
    held_ = 0;
    staged_ = 0;
    first_ = position_;
    start_body();
  }

  void start_body() {
    body_.emplace(
        current_->body, static_cast<std::size_t>(target_.part_size),
        PartHead{target_.upload_id, first_},
        leader_ ? PartBodyBuilder::Hashing::kAsEncoded : PartBodyBuilder::Hashing::kLater);
  }

  void encode_staged() {
    body_->encode(std::string_view(staging_.data(), staged_), leader_ ? &leader_->body : nullptr);
    staged_ = 0;
  }

  void seal() {
    encode_staged();
    body_->close(target_.registry_id, target_.repository, static_cast<std::int64_t>(held_));
    if (!leader_) {
      leader_.emplace(
          Leader{.buffer = current_, .first = first_, .length = held_, .body = std::move(*body_)});
    } else {
      send_leader();
      channel_.push_ready(
          SealedPart{.buffer = current_, .first = first_, .length = held_, .body = body_->seal()});
    }
    body_.reset();
    current_ = nullptr;
  }

  // Hashes what is left of the leader's body and hands it to the sender.
  void send_leader() {
    channel_.push_ready(SealedPart{.buffer = leader_->buffer,
                                   .first = leader_->first,
                                   .length = leader_->length,
                                   .body = leader_->body.seal()});
    leader_.reset();
  }

  PartChannel& channel_;
  const Target& target_;
  std::string& staging_;
  std::int64_t skip_until_;
  const TransferContext& reporter_;
  PartBuffer* current_ = nullptr;
  std::optional<PartBodyBuilder> body_;  // of the current part
  std::optional<Leader> leader_;
  std::size_t staged_ = 0;     // bytes in staging_, not yet encoded
  std::size_t held_ = 0;       // bytes of the current part
  std::int64_t first_ = 0;     // blob offset of the current part's first byte
  std::int64_t position_ = 0;  // bytes produced
};

// What the attempts at one upload add up to.
struct UploadTally {
  std::optional<Descriptor> uploaded;
  std::int64_t bytes_sent = 0;
};

class LayerUpload {
 public:
  LayerUpload(RegistrySession& session, const Descriptor& shown, const BlobProducer& produce,
              std::vector<PartBufferPool::Lease>& buffers, std::int64_t fallback_part_size,
              TransferContext& reporter, UploadProgress progress, UploadTally& stats)
      : session_(session),
        shown_(shown),
        produce_(produce),
        buffers_(buffers),
        fallback_part_size_(fallback_part_size),
        reporter_(reporter),
        progress_(progress),
        stats_(stats) {}

  void run() {
    api::InitiateLayerUploadRequest init;
    init.registryId = session_.registry_id();
    init.repositoryName = session_.repository();
    const auto started =
        session_.call<api::InitiateLayerUploadResponse>("InitiateLayerUpload", init);
    if (!started.uploadId) throw InputError("InitiateLayerUpload answered no uploadId");
    upload_id_ = *started.uploadId;
    const std::int64_t part_size = started.partSize.value_or(fallback_part_size_);
    if (part_size < 1 || part_size > kMaxPartBlobBytes) {
      throw InputError("InitiateLayerUpload answered partSize " + std::to_string(part_size) +
                       "; a part holds 1 to " + std::to_string(kMaxPartBlobBytes) + " bytes");
    }
    reporter_.report(shown_.digest, BlobState::kUploading, 0, shown_.size);
    std::int64_t start = 0;
    for (;;) {
      try {
        stats_.uploaded = send_parts(part_size, start);
        break;
      } catch (const Rewind& r) {
        // The registry lost bytes the pipeline no longer holds: produce the
        // blob again and send from the first byte it lacks.
        start = r.at;
      }
    }
    complete();
  }

 private:
  // Runs the producer on its own thread and sends what it seals, in order;
  // returns the descriptor of the blob produced.
  Descriptor send_parts(std::int64_t part_size, std::int64_t start) {
    PartChannel channel(buffers_);
    const ChannelPartWriter::Target target{session_.registry_id(), session_.repository(),
                                           upload_id_, part_size};
    std::jthread producer([&] {
      try {
        ChannelPartWriter writer(channel, target, buffers_.front()->staging, start, reporter_);
        writer.finish(produce_(writer));
      } catch (const PipelineStopped&) {
        // The sender gave up; its exception is the one that matters.
      } catch (...) {
        channel.fail(std::current_exception());
      }
    });
    // Declared after the thread, so it runs first when the sender throws: the
    // producer is woken and unwinds before the thread is joined.
    struct StopOnExit {
      PartChannel& c;
      ~StopOnExit() { c.stop(); }
    } stop_on_exit{channel};
    while (const std::optional<SealedPart> part = channel.pop_ready()) {
      send_part(*part);
      channel.give_back(part->buffer);
    }
    return channel.produced();
  }

  // Sends one part, resending its tail when the registry kept only some of it.
  // Retries follow progress: a failed attempt (reset, stall, 5xx, throttled)
  // is retried under the session's policy, and an answer showing that the
  // registry holds more of the part than before (InvalidLayerPartException's
  // lastValidByteReceived) starts the count of attempts without progress
  // again. Link failures (reset, stall) in a row give up after
  // kMaxPartAttemptsWithoutProgress, error answers after max_attempts.
  void send_part(const SealedPart& part) {
    const std::int64_t end = part.first + static_cast<std::int64_t>(part.length);
    std::int64_t at = part.first;
    PartBody body = part.body;
    std::optional<std::string> decoded;  // the part's bytes, once a resume needs them
    aws::RetryPolicy& policy = session_.retry_policy();
    aws::RequestRetries retries;
    bool progressed = false;  // the registry took bytes since the last failure
    for (;;) {
      reporter_.throw_if_cancelled();
      stats_.bytes_sent += end - at;
      try {
        session_.call_raw_once("UploadLayerPart",
                               std::string_view(part.buffer->body).substr(0, body.size),
                               body.sha256);
        policy.record_success(retries);
        break;
      } catch (const api::InvalidLayerPartException& e) {
        // The registry kept fewer bytes than sent (a connection reset mid-part
        // or a retried part it already partly had): go on after the last byte
        // it holds, not from the start.
        if (!e.lastValidByteReceived()) throw;
        const std::int64_t resume_at = *e.lastValidByteReceived() + 1;
        if (resume_at < 0 || resume_at > end) throw;
        if (resume_at == end) break;
        if (resume_at < part.first) throw Rewind{resume_at};
        if (resume_at > at) {
          progressed = true;
        } else if (++stuck_answers_ > kMaxPartResumes) {
          // The registry keeps refusing the bytes it asks for.
          throw;
        }
        at = resume_at;
        // The raw bytes were never kept whole (the producer encodes from a
        // small staging buffer): decode them back from the body, once, before
        // the body is rebuilt for the tail. Rare (a fault mid-part), so a
        // temporary.
        if (!decoded) {
          decoded =
              base64::decode(std::string_view(part.buffer->body)
                                 .substr(part.body.encoded_at, base64::encoded_size(part.length)));
        }
        const auto offset = static_cast<std::size_t>(at - part.first);
        body = build_upload_part_body(
            part.buffer->body, session_.registry_id(), session_.repository(), upload_id_, at,
            std::string_view(*decoded).substr(offset, part.length - offset));
      } catch (const Error& e) {
        if (dynamic_cast<const ServiceError*>(&e) == nullptr &&
            dynamic_cast<const TransportError*>(&e) == nullptr) {
          throw;
        }
        // A broken link gets the long budget; a registry answering errors
        // (5xx, throttling) the standard one, as every other call does.
        const bool link_failure = dynamic_cast<const TransportError*>(&e) != nullptr;
        const int limit = link_failure
                              ? std::max(kMaxPartAttemptsWithoutProgress, policy.max_attempts())
                              : policy.max_attempts();
        if (!policy.prepare_resume(retries, e, progressed, limit)) {
          reporter_.throw_if_cancelled();
          throw;
        }
        progressed = false;
      }
    }
    if (progress_ == UploadProgress::kPartsSent) {
      reporter_.report(shown_.digest, BlobState::kUploading, end, shown_.size);
    }
  }

  void complete() {
    api::CompleteLayerUploadRequest req;
    req.registryId = session_.registry_id();
    req.repositoryName = session_.repository();
    req.uploadId = upload_id_;
    const std::string digest = stats_.uploaded->digest.str();
    req.layerDigests = {digest};
    try {
      const auto done = session_.call<api::CompleteLayerUploadResponse>("CompleteLayerUpload", req);
      if (done.layerDigest && *done.layerDigest != digest) {
        throw IntegrityError("CompleteLayerUpload for " + digest + " answered layer digest " +
                             *done.layerDigest);
      }
    } catch (const api::LayerAlreadyExistsException&) {
      // Another pusher finished the same blob first: it is there, as wanted.
    } catch (const api::InvalidLayerException& e) {
      // The registry's hash of what it received is the digest check of a
      // blob pushed as it is (copy_blob does not hash it).
      throw IntegrityError("the registry refused blob " + digest + " at CompleteLayerUpload (" +
                           e.what() + "): the bytes read from the source do not match its digest");
    }
  }

  RegistrySession& session_;
  const Descriptor& shown_;
  const BlobProducer& produce_;
  std::vector<PartBufferPool::Lease>& buffers_;
  std::int64_t fallback_part_size_;
  TransferContext& reporter_;
  UploadProgress progress_;
  UploadTally& stats_;
  std::string upload_id_;  // of the upload being sent
  // InvalidLayerPartException answers that did not move the upload forward.
  int stuck_answers_ = 0;
};

}  // namespace

UploadStats upload_blob(RegistrySession& session, const Descriptor& shown,
                        const BlobProducer& produce, PartBufferPool& pool,
                        std::int64_t fallback_part_size, TransferContext& reporter,
                        UploadProgress progress) {
  std::vector<PartBufferPool::Lease> buffers = pool.acquire(kPartBuffersPerUpload);
  UploadTally tally;
  for (int restart = 0;; ++restart) {
    try {
      LayerUpload(session, shown, produce, buffers, fallback_part_size, reporter, progress, tally)
          .run();
      return UploadStats{.uploaded = *tally.uploaded, .bytes_sent = tally.bytes_sent};
    } catch (const api::UploadNotFoundException&) {
      // The upload vanished (expired, or the registry lost it): only a new
      // upload from byte 0 can succeed.
      if (restart >= kMaxUploadRestarts) throw;
    }
  }
}

}  // namespace ecr::transfer
