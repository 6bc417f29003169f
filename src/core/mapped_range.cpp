#include "core/mapped_range.hpp"

#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mutex>
#include <string>

#include "ecr/error.hpp"

namespace ecr {
namespace {

// The read() running on this thread: the bytes it may fault on, where to
// jump back to when it does, and the address that faulted.
struct Guard {
  const std::byte* begin;
  const std::byte* end;
  const std::byte* fault;
  sigjmp_buf back;
};

// initial-exec: read from a signal handler, so it must not be allocated on
// first use.
[[gnu::tls_model("initial-exec")]] thread_local Guard* t_guard = nullptr;

struct sigaction g_previous {};

void on_sigbus(int signal, siginfo_t* info, void* /*context*/) {
  Guard* const guard = t_guard;
  const auto* at = static_cast<const std::byte*>(info->si_addr);
  if (guard != nullptr && info->si_code > 0 && at >= guard->begin && at < guard->end) {
    guard->fault = at;
    siglongjmp(guard->back, 1);
  }
  // Not a read of a mapping: put back what handled SIGBUS before. Returning
  // runs the faulting access again, under it; a SIGBUS sent by a process
  // (si_code <= 0) is raised again.
  ::sigaction(SIGBUS, &g_previous, nullptr);
  if (info->si_code <= 0) ::raise(signal);
}

std::int64_t page_size() {
  static const auto page = static_cast<std::int64_t>(::sysconf(_SC_PAGESIZE));
  return page;
}

[[noreturn]] void throw_shrank(std::int64_t before) {
  throw InputError("the file ends before byte " + std::to_string(before) +
                   ": it shrank while it was read");
}

void install_handler() {
  struct sigaction action {};
  action.sa_sigaction = &on_sigbus;
  // SA_NODEFER: SIGBUS stays unblocked in the handler, so jumping out of it
  // needs no saved signal mask (sigsetjmp(..., 0), no system call per read).
  action.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGBUS, &action, &g_previous);
}

}  // namespace

std::unique_ptr<const MappedRange> MappedRange::map(int fd, std::int64_t offset, std::size_t size) {
  if (size == 0 || offset < 0) return nullptr;
  const std::int64_t start = offset / page_size() * page_size();
  const std::size_t mapping_size = size + static_cast<std::size_t>(offset - start);
  // Not MAP_POPULATE: its pages faulted in as they are first read cost the
  // same from the page cache, and a 4 GiB push from a file not cached took
  // 8.2-8.5 user CPU-s with it against 3.1 without (docs/performance.md,
  // 2026-12-05 06:30).
  void* mapping =
      ::mmap(nullptr, mapping_size, PROT_READ, MAP_SHARED, fd, static_cast<off_t>(start));
  if (mapping == MAP_FAILED) return nullptr;
  const auto* data = static_cast<const std::byte*>(mapping) + (offset - start);
  return std::unique_ptr<const MappedRange>(
      new MappedRange(fd, mapping, mapping_size, data, size, offset));
}

MappedRange::~MappedRange() { ::munmap(mapping_, mapping_size_); }

void MappedRange::read_guarded(std::span<const std::byte> bytes, void (*reading)(void*),
                               void* context) const {
  static std::once_flag installed;
  std::call_once(installed, install_handler);
  const std::int64_t page = page_size();
  Guard guard{bytes.data(), bytes.data() + bytes.size(), nullptr, {}};
  Guard* const outer = t_guard;
  t_guard = &guard;
  if (sigsetjmp(guard.back, 0) != 0) {
    // A page past the file's end: the file ends before that page's start.
    t_guard = outer;
    const std::int64_t at = offset_ + (guard.fault - data_);
    throw_shrank(at / page * page);
  }
  reading(context);
  t_guard = outer;
  // Cut inside the mapping's last page, the file reads as zeros there, and
  // no later page of the mapping faults to say so.
  const std::int64_t end = offset_ + static_cast<std::int64_t>(size_);
  const std::int64_t read_end = offset_ + (bytes.data() + bytes.size() - data_);
  if (read_end > (end - 1) / page * page) {
    struct stat st {};
    if (::fstat(fd_, &st) != 0 || st.st_size < end) throw_shrank(end);
  }
}

}  // namespace ecr
