#include "core/direct_writer.hpp"

#include <fcntl.h>
#include <linux/aio_abi.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <utility>

#include "core/in_order_hasher.hpp"

namespace ecr {
namespace {

constexpr std::int64_t kPage = 4096;

// The thread's Linux AIO context, made on first use and destroyed with the
// thread; 0 when the kernel offers none (writes are then made in wait()).
// It holds at most one write: `busy` says whether it does.
struct AioContext {
  aio_context_t id = 0;
  bool tried = false;
  bool busy = false;
  AioContext() = default;
  AioContext(const AioContext&) = delete;
  AioContext& operator=(const AioContext&) = delete;
  ~AioContext() {
    if (id != 0) ::syscall(SYS_io_destroy, id);  // waits for a write still in flight
  }
};

AioContext& thread_aio() {
  thread_local AioContext aio;
  if (!aio.tried) {
    aio.tried = true;
    if (::syscall(SYS_io_setup, 1, &aio.id) != 0) aio.id = 0;
  }
  return aio;
}

}  // namespace

DirectWriter DirectWriter::open(int fd, std::filesystem::path path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return {};
  std::int64_t offset_align = kPage;
  std::uintptr_t memory_align = kPage;
  struct statx stx {};
  if (::statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) == 0 &&
      (stx.stx_mask & STATX_DIOALIGN) != 0) {
    if (stx.stx_dio_offset_align == 0) return {};  // the file takes no direct I/O
    offset_align = std::max<std::int64_t>(kPage, stx.stx_dio_offset_align);
    memory_align = stx.stx_dio_mem_align;
  }
  // Memory at the file's place in a page as well: ext4 serializes, and
  // waits out, a direct write whose memory is aligned only to the device's
  // sectors, as it does one that is not at its blocks.
  memory_align = std::max<std::uintptr_t>(memory_align, static_cast<std::uintptr_t>(offset_align));
  // A second open file description: O_DIRECT set on a dup() would change
  // the caller's descriptor too. The file may have no name (O_TMPFILE).
  const std::string self = "/proc/self/fd/" + std::to_string(fd);
  UniqueFd direct(::open(self.c_str(), O_WRONLY | O_DIRECT | O_CLOEXEC));
  if (!direct.valid()) return {};
  DirectWriter writer;
  writer.state_ = std::make_shared<State>();
  writer.state_->fd = std::move(direct);
  writer.state_->path = std::move(path);
  writer.state_->offset_align = offset_align;
  writer.state_->memory_align = memory_align;
  return writer;
}

DirectWriter::Stretch DirectWriter::aligned_part(std::int64_t offset,
                                                 std::span<const std::byte> data) const {
  if (!valid() || offset < 0) return {};
  const std::int64_t align = state_->offset_align;
  const std::int64_t begin = (offset + align - 1) / align * align;
  const std::int64_t end = (offset + static_cast<std::int64_t>(data.size())) / align * align;
  if (end <= begin) return {};
  const auto address = reinterpret_cast<std::uintptr_t>(data.data() + (begin - offset));
  if (address % state_->memory_align != 0) return {};
  return {.begin = begin, .end = end};
}

DirectWriter::Pending DirectWriter::start(std::span<const std::byte> data,
                                          std::int64_t offset) const {
  Pending pending(state_, data, offset);
  AioContext& aio = thread_aio();
  if (aio.id == 0 || aio.busy) return pending;  // written in wait()
  iocb request{};
  request.aio_lio_opcode = IOCB_CMD_PWRITE;
  request.aio_fildes = static_cast<std::uint32_t>(state_->fd.get());
  request.aio_buf = reinterpret_cast<std::uintptr_t>(data.data());
  request.aio_nbytes = data.size();
  request.aio_offset = offset;
  iocb* requests[] = {&request};
  // The kernel copies the request; only the bytes must stay.
  if (::syscall(SYS_io_submit, aio.id, 1, requests) == 1) {
    aio.busy = true;
    pending.in_flight_ = true;
  } else if (errno != EAGAIN && errno != EINTR) {
    pending.error_ = errno;
  }
  return pending;
}

DirectWriter::Pending::Pending(std::shared_ptr<State> state, std::span<const std::byte> data,
                               std::int64_t offset)
    : state_(std::move(state)), data_(data), offset_(offset) {}

DirectWriter::Pending::Pending(Pending&& other) noexcept
    : state_(std::move(other.state_)),
      data_(other.data_),
      offset_(other.offset_),
      in_flight_(std::exchange(other.in_flight_, false)),
      finished_(std::exchange(other.finished_, true)),
      written_(other.written_),
      error_(other.error_),
      done_(other.done_) {}

DirectWriter::Pending::~Pending() {
  if (finished_) return;
  try {
    wait();
  } catch (...) {
    // Only the write's end was wanted here; the failure was not.
  }
}

bool DirectWriter::Pending::wait() {
  if (finished_) return written_;
  finished_ = true;
  if (in_flight_) {
    AioContext& aio = thread_aio();
    io_event event{};
    long got = 0;
    do {
      got = ::syscall(SYS_io_getevents, aio.id, 1, 1, &event, nullptr);
    } while (got < 0 && errno == EINTR);
    in_flight_ = false;
    aio.busy = false;
    if (got != 1) {
      error_ = got < 0 ? errno : EIO;
    } else if (event.res < 0) {
      error_ = static_cast<int>(-event.res);
    } else {
      done_ = static_cast<std::size_t>(event.res);
    }
  }
  if (error_ == 0) written_ = write_rest();
  if (error_ == EINVAL) {
    state_->refused.store(true);
    return false;
  }
  if (error_ != 0) {
    errno = error_;
    throw_file_error("write", state_->path);
  }
  state_->written += static_cast<std::int64_t>(data_.size());
  return written_;
}

bool DirectWriter::Pending::write_rest() {
  while (done_ < data_.size()) {
    const ssize_t n = ::pwrite(state_->fd.get(), data_.data() + done_, data_.size() - done_,
                               static_cast<off_t>(offset_ + static_cast<std::int64_t>(done_)));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error_ = n < 0 ? errno : EIO;
      return false;
    }
    done_ += static_cast<std::size_t>(n);
  }
  return true;
}

void write_and_hash(const HashedFile& file, InOrderHasher& hasher, std::int64_t offset,
                    std::span<const std::byte> data) {
  const std::int64_t at = file.base + offset;
  const auto buffered = [&](std::span<const std::byte> bytes, std::int64_t where) {
    const std::lock_guard turn(file.turn);
    write_all_at(file.fd, bytes, where, file.path);
  };
  // Bytes written directly are not in the page cache: only bytes the hasher
  // takes from memory (hashed now, or copied to wait for a partner) go that
  // way, never bytes to be read back.
  const DirectWriter::Stretch direct =
      file.direct != nullptr ? file.direct->aligned_part(at, data) : DirectWriter::Stretch{};
  if (direct.end <= direct.begin || !hasher.would_take(offset)) {
    buffered(data, at);
    hasher.landed(offset, data);
    return;
  }
  const auto middle = data.subspan(static_cast<std::size_t>(direct.begin - at),
                                   static_cast<std::size_t>(direct.end - direct.begin));
  buffered(data.first(static_cast<std::size_t>(direct.begin - at)), at);
  buffered(data.subspan(static_cast<std::size_t>(direct.end - at)), direct.end);
  DirectWriter::Pending pending = file.direct->start(middle, direct.begin);
  const bool taken = hasher.take(offset, data);
  if (!pending.wait()) buffered(middle, direct.begin);
  if (!taken) hasher.landed(offset, data);
}

}  // namespace ecr
