// An oci-archive written in place: when every blob's digest and size and the
// index.json are known before the first blob arrives (ImageSink::expect), the
// archive's layout is too (TarLayout). The file is created at its full size
// next to the destination, its headers written at once, and each blob
// written at its place as it arrives, in any order and from several threads
// at once (BlobSlot), so every byte is written once. It is renamed into place
// at commit, after an fsync. Until then it has no name (UnnamedTempFile): a
// failed transfer, or a killed process, leaves nothing behind.
#pragma once

#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/direct_writer.hpp"
#include "core/file.hpp"
#include "ecr/image.hpp"

namespace ecr::oci {

class InPlaceArchive {
 public:
  // The archive at `target` holding `blobs` (configs, layers and manifests,
  // each digest once, any order) and `index_json`, in the member order of
  // OciArchiveSink's staged archive: oci-layout, index.json, blobs/,
  // blobs/sha256/, then the blobs by hex. Throws InputError when the file
  // cannot be created or given its size (a full disk fails here, before any
  // download). Slots write the whole pages of what they are given directly,
  // past the page cache, where the file system takes that and `direct` is
  // true (core/direct_writer.hpp).
  InPlaceArchive(std::filesystem::path target, const std::vector<Descriptor>& blobs,
                 std::string index_json, bool direct = true);
  InPlaceArchive(const InPlaceArchive&) = delete;
  InPlaceArchive& operator=(const InPlaceArchive&) = delete;

  // True when `digest` has a place in the archive.
  bool plans(const Digest& digest) const { return members_.contains(digest); }
  // True when the blob has been written and verified.
  bool holds(const Digest& digest) const;

  // A slot writing `d` at its place; nullptr when the archive has no place
  // for it. IntegrityError when `d`'s size is not its place's.
  std::unique_ptr<BlobSlot> slot(const Descriptor& d);
  // Writes the blob `in` delivers at its place, reading it to the end so it
  // is verified. std::logic_error when the archive has no place for it.
  void write(BlobReader& in);
  // Copies the verified file `file` holding `d` to its place, kernel-side
  // (copy_file_range). Returns false when the filesystem cannot (the caller
  // then streams the blob through write()).
  bool place(const Descriptor& d, const std::filesystem::path& file);

  // Renames the archive into place, durably. `index_json` is the index the
  // manifests written name; std::logic_error when it is not the one the
  // archive was laid out with or a blob was never written (its place would
  // read as zeros).
  void commit(std::string_view index_json);

  // Bytes the slots wrote past the page cache.
  std::int64_t bytes_written_directly() const { return direct_.bytes_written(); }

 private:
  class Slot;
  struct Member {
    std::int64_t offset = 0;
    std::int64_t size = 0;
    bool written = false;
  };

  Member& member(const Descriptor& d);
  void mark_written(const Digest& digest);
  // Where a blob's writeback stands: started from its first whole 2 MiB
  // folio (the one before may hold the end of the blob before it, still
  // being written) to `started`; its pages dropped behind that.
  struct Writeback {
    explicit Writeback(std::int64_t blob_offset);
    std::atomic<std::int64_t> started;
    DropBehind dropped;
  };
  // Starts writeback of [started, end) of the file, cut down to whole
  // 2 MiB folios, once that is at least kWritebackBytes, and moves `started`
  // on (several threads may call it for one blob), so commit()'s fsync has
  // less left to wait for. `end`: the bytes before it, from `started` on,
  // are all written. Only such stretches are started: a folio written back
  // while another thread still fills it is written twice (starting the whole
  // file every 8 MiB wrote 1.10-1.11x the archive's bytes for the big-layer
  // bench image's parallel ranges; 1.00x this way). What was started is
  // then dropped from the page cache behind it (core/file.hpp, DropBehind):
  // the archive is not read again by the pull. Only pages a slot wrote
  // through the page cache have anything to start or drop: the pieces' edges
  // and the bytes hashed later (core/direct_writer.hpp, write_and_hash).
  void written_through(Writeback& w, std::int64_t end);

  std::filesystem::path target_;
  UnnamedTempFile temp_;
  std::string index_json_;
  std::map<Digest, Member> members_;  // places fixed at construction
  mutable std::mutex mutex_;          // guards Member::written
  // Held around each buffered write of a blob's bytes: the download workers
  // take turns here, sleeping, rather than spinning on the file's inode lock
  // (core/file.hpp, write_all_at).
  std::mutex write_turn_;
  // The slots' whole pages of bytes hashed as they land, past the page
  // cache; invalid when the file takes no direct writes.
  DirectWriter direct_;
};

}  // namespace ecr::oci
