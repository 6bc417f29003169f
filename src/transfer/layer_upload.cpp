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

std::size_t PartBytes::encode(std::size_t at, std::size_t n, char* out, char* scratch) const {
  if (mapping_) {
    const std::size_t begin = mapped_at_ + at;
    std::size_t encoded = 0;
    mapping_->read(begin, begin + n, [&](std::span<const std::byte> bytes) {
      encoded = base64::encode_to(
          std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), out);
    });
    return encoded;
  }
  if (!file_) return base64::encode_to(memory_.substr(at, n), out);
  file_->read_at(offset_ + static_cast<std::int64_t>(at),
                 std::span<std::byte>(reinterpret_cast<std::byte*>(scratch), n));
  return base64::encode_to(std::string_view(scratch, n), out);
}

PartBytes PartBytes::mapped() const {
  if (!file_ || mapping_) return *this;
  const std::optional<RandomAccessBytes::InFile> where = file_->in_file();
  if (!where) return *this;
  // file_ stays with the copy: it keeps open the descriptor through which
  // the mapping checks the file's size.
  PartBytes copy = *this;
  copy.mapping_ = MappedRange::map(where->fd, where->offset + offset_, size_);
  if (!copy.mapping_) return *this;
  copy.mapped_at_ = 0;
  return copy;
}

PartBytes PartBytes::from(std::size_t at) const {
  PartBytes rest = *this;
  if (!file_) rest.memory_ = memory_.substr(at);
  rest.offset_ += static_cast<std::int64_t>(at);
  rest.mapped_at_ += at;
  rest.size_ = size_ - at;
  return rest;
}

PartBody part_body(const std::optional<std::string>& registry_id, std::string_view repository,
                   std::string_view upload_id, std::int64_t first_byte, std::size_t length) {
  PartBody body;
  // The writer only writes whole objects: {"uploadId":...,"partFirstByte":N}
  // has its "}" turned into the blob member's start.
  json::Writer lead(body.lead);
  lead.begin_object();
  lead.key("uploadId");
  lead.string(upload_id);
  lead.key("partFirstByte");
  lead.integer(first_byte);
  lead.end_object();
  body.lead.pop_back();
  body.lead += ",\"layerPartBlob\":\"";
  // The string's closing quote, then the other members: the writer writes
  // {"partLastByte":...}, whose "{" is turned into the "," after the blob.
  body.tail = "\"";
  json::Writer tail(body.tail);
  tail.begin_object();
  tail.key("partLastByte");
  tail.integer(first_byte + static_cast<std::int64_t>(length) - 1);
  if (registry_id) {
    tail.key("registryId");
    tail.string(*registry_id);
  }
  tail.key("repositoryName");
  tail.string(repository);
  tail.end_object();
  body.tail[1] = ',';
  body.blob_size = base64::encoded_size(length);
  return body;
}

PartHasher::PartHasher() {
  for (int i = 0; i < 2; ++i) {
    read_[i].resize(kEncodeSlice);
    encoded_[i].resize(base64::encoded_size(kEncodeSlice));
  }
}

void PartHasher::hash(PartBody& a, const PartBytes& a_bytes, PartBody* b,
                      const PartBytes* b_bytes) {
  Sha256Lane lanes[2];
  PartBody* bodies[2] = {&a, b};
  const PartBytes* bytes[2] = {&a_bytes, b_bytes};
  const int count = b != nullptr ? 2 : 1;
  std::size_t longest = 0;
  for (int i = 0; i < count; ++i) {
    lanes[i].update(bodies[i]->lead.data(), bodies[i]->lead.size());
    longest = std::max(longest, bytes[i]->size());
  }
  // A slice of each blob at a time, encoded while its bytes are in the CPU's
  // cache, then hashed beside the other's slice.
  for (std::size_t at = 0; at < longest; at += kEncodeSlice) {
    std::size_t encoded[2] = {0, 0};
    for (int i = 0; i < count; ++i) {
      if (at >= bytes[i]->size()) continue;
      const std::size_t n = std::min(kEncodeSlice, bytes[i]->size() - at);
      encoded[i] = bytes[i]->encode(at, n, encoded_[i].data(), read_[i].data());
    }
    if (count == 2) {
      update_pair(lanes[0], encoded_[0].data(), encoded[0], lanes[1], encoded_[1].data(),
                  encoded[1]);
    } else {
      lanes[0].update(encoded_[0].data(), encoded[0]);
    }
  }
  for (int i = 0; i < count; ++i) {
    lanes[i].update(bodies[i]->tail.data(), bodies[i]->tail.size());
    bodies[i]->sha256 = lanes[i].finish();
  }
}

PartRequestBody::PartRequestBody(const PartBody& body, const PartBytes& bytes, std::string& scratch)
    : body_(body), bytes_(bytes), scratch_(scratch) {
  if (scratch_.size() < kEncodeSlice) scratch_.resize(kEncodeSlice);
}

void PartRequestBody::read_at(std::size_t offset, std::span<char> out) const {
  const std::size_t blob_at = body_.lead.size();
  const std::size_t tail_at = blob_at + body_.blob_size;
  while (!out.empty()) {
    std::size_t n = 0;
    if (offset < blob_at) {
      n = std::min(out.size(), blob_at - offset);
      std::memcpy(out.data(), body_.lead.data() + offset, n);
    } else if (offset < tail_at) {
      // Base64 turns each 3 bytes into 4 characters: encode whole groups
      // straight into `out`, a group cut by the range's edges through `group`.
      const std::size_t group = (offset - blob_at) / 4;
      const std::size_t skip = (offset - blob_at) % 4;
      const std::size_t raw_at = group * 3;
      if (skip != 0 || out.size() < 4) {
        char encoded[4];
        bytes_.encode(raw_at, std::min<std::size_t>(3, bytes_.size() - raw_at), encoded,
                      scratch_.data());
        n = std::min(out.size(), 4 - skip);
        std::memcpy(out.data(), encoded + skip, n);
      } else {
        const std::size_t raw =
            std::min({out.size() / 4 * 3, kEncodeSlice, bytes_.size() - raw_at});
        n = bytes_.encode(raw_at, raw, out.data(), scratch_.data());
      }
    } else {
      n = std::min(out.size(), body_.size() - offset);
      std::memcpy(out.data(), body_.tail.data() + (offset - tail_at), n);
    }
    offset += n;
    out = out.subspan(n);
  }
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

void PartWriter::write_all(const std::shared_ptr<const RandomAccessBytes>& bytes) {
  for (std::int64_t at = 0; at < bytes->size();) {
    const std::span<std::byte> room = space();
    const std::size_t n = std::min(room.size(), static_cast<std::size_t>(bytes->size() - at));
    bytes->read_at(at, room.first(n));
    advance(n);
    at += static_cast<std::int64_t>(n);
  }
}

BlobProducer copy_blob(ImageSource& source, const Descriptor& descriptor) {
  return [&source, &descriptor](PartWriter& out) {
    // Reads straight into the part buffer. The reader checks the size; the
    // digest is checked by the registry, which hashes every byte it receives
    // and refuses a mismatch at CompleteLayerUpload (InvalidLayerException),
    // so hashing here too would only spend a second SHA-256 pass.
    BlobReader reader = source.open_blob(descriptor, BlobReader::Check::kSizeOnly);
    if (const auto bytes = reader.random_access()) {
      out.write_all(bytes);
    } else {
      while (const std::size_t n = reader.read(out.space())) out.advance(n);
    }
    return descriptor;
  };
}

namespace {

// One part waiting to be sent: blob bytes [first, first + bytes.size()),
// hashed. `buffer` is the pooled buffer that holds them, or only stands for
// them (a part read from a file), until the part is sent.
struct SealedPart {
  PartBuffer* buffer = nullptr;
  std::int64_t first = 0;
  PartBytes bytes;
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

// Cuts the producer's bytes into parts, each held in a buffer from the
// channel (or, for a blob read from a file, only standing for a range of it),
// and hashes their bodies. Parts go in pairs: the first of a pair (the leader)
// waits until the second is cut, then both bodies are hashed side by side
// (two SHA-256 streams on one core) and go to the sender. Bytes before
// `skip_until` (already held by the registry) are produced, but not kept.
class ChannelPartWriter final : public PartWriter {
 public:
  struct Target {
    const std::optional<std::string>& registry_id;
    const std::string& repository;
    const std::string& upload_id;
    std::int64_t part_size;
  };

  ChannelPartWriter(PartChannel& channel, const Target& target, std::int64_t skip_until,
                    const TransferContext& reporter)
      : channel_(channel), target_(target), skip_until_(skip_until), reporter_(reporter) {}

  std::span<std::byte> space() override {
    if (current_ == nullptr) take_buffer();
    std::string& raw = current_->raw;
    const auto part_size = static_cast<std::size_t>(target_.part_size);
    // Room for the whole part is reserved at once, backed by huge pages
    // (core/huge_pages.hpp), but the buffer grows only as bytes come: a part
    // of a config or a small layer costs its own memory, not a whole part's.
    // It never shrinks, so a buffer that held a part before is not zero-filled
    // again (std::string fills what it grows by).
    reserve_huge(raw, part_size);
    const std::size_t at = position_ < skip_until_ ? 0 : held_;
    std::size_t want = std::min(part_size - at, kGrowStep);
    if (position_ < skip_until_) {
      want = std::min(want, static_cast<std::size_t>(skip_until_ - position_));
    }
    if (raw.size() < at + want) raw.resize(at + want);
    return {reinterpret_cast<std::byte*>(raw.data()) + at, want};
  }

  void advance(std::size_t n) override {
    const bool skipping = position_ < skip_until_;
    position_ += static_cast<std::int64_t>(n);
    if (skipping) return;
    held_ += n;
    if (held_ == static_cast<std::size_t>(target_.part_size)) seal();
  }

  void write_all(const std::shared_ptr<const RandomAccessBytes>& bytes) override {
    if (position_ != 0 || file_) {
      PartWriter::write_all(bytes);
      return;
    }
    file_ = bytes;
    for (std::int64_t at = skip_until_; at < file_->size(); at += target_.part_size) {
      take_buffer();
      held_ = static_cast<std::size_t>(std::min(target_.part_size, file_->size() - at));
      position_ = at + static_cast<std::int64_t>(held_);
      seal();
    }
    position_ = std::max(position_, file_->size());
  }

  // Sends the last, partial part and tells the sender what was produced.
  void finish(const Descriptor& produced) {
    if (position_ < skip_until_) {
      throw IntegrityError("blob " + produced.digest.str() + " has " + std::to_string(position_) +
                           " bytes but the registry holds " + std::to_string(skip_until_) +
                           " of it");
    }
    if (held_ > 0) seal();
    if (leader_) {
      hasher_.hash(leader_->body, leader_->bytes);
      channel_.push_ready(*leader_);
      leader_.reset();
    }
    channel_.finish(produced);
  }

 private:
  // A buffer grows by this much at most as bytes are read into it.
  static constexpr std::size_t kGrowStep = 1 << 20;

  void take_buffer() {
    reporter_.throw_if_cancelled();
    current_ = channel_.take_free();
    held_ = 0;
  }

  void seal() {
    const std::int64_t first = position_ - static_cast<std::int64_t>(held_);
    SealedPart part{.buffer = current_,
                    .first = first,
                    // Mapped once, for both the hash and the send.
                    .bytes = file_ ? PartBytes(file_, first, held_).mapped()
                                   : PartBytes(std::string_view(current_->raw).substr(0, held_)),
                    .body = part_body(target_.registry_id, target_.repository, target_.upload_id,
                                      first, held_)};
    current_ = nullptr;
    held_ = 0;
    if (!leader_) {
      leader_.emplace(std::move(part));
      return;
    }
    hasher_.hash(leader_->body, leader_->bytes, &part.body, &part.bytes);
    channel_.push_ready(*leader_);
    leader_.reset();
    channel_.push_ready(part);
  }

  PartChannel& channel_;
  const Target& target_;
  std::int64_t skip_until_;
  const TransferContext& reporter_;
  PartHasher hasher_;
  std::shared_ptr<const RandomAccessBytes> file_;  // the blob, when written whole
  PartBuffer* current_ = nullptr;                  // holds the part being cut
  std::optional<SealedPart> leader_;
  std::size_t held_ = 0;       // bytes of the current part
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
        ChannelPartWriter writer(channel, target, start, reporter_);
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
    const std::int64_t end = part.first + static_cast<std::int64_t>(part.bytes.size());
    std::int64_t at = part.first;
    PartBytes bytes = part.bytes;
    PartBody body = part.body;
    aws::RetryPolicy& policy = session_.retry_policy();
    aws::RequestRetries retries;
    bool progressed = false;  // the registry took bytes since the last failure
    for (;;) {
      reporter_.throw_if_cancelled();
      stats_.bytes_sent += end - at;
      try {
        const PartRequestBody request(body, bytes, send_scratch_);
        session_.call_raw_once("UploadLayerPart", request, *body.sha256);
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
        bytes = part.bytes.from(static_cast<std::size_t>(at - part.first));
        body =
            part_body(session_.registry_id(), session_.repository(), upload_id_, at, bytes.size());
        // Rare (a fault mid-part): a hasher of its own for the resumed body.
        PartHasher().hash(body, bytes);
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
  // Bytes read from a file on their way into a request body.
  std::string send_scratch_;
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
