// What ecr-push and ecr-pull print while a transfer runs, as text: a pure
// function of the progress events and the times they arrived (the clock is
// passed in), so tests check the exact bytes a terminal receives.
//
// On a terminal (Mode::kTerminal) there is one line per blob, like docker's:
//
//   2c08ddd3f6dd  uploading   12.0 MiB / 45.6 MiB  8.0 MiB/s
//   9a0b1c2d3e4f  exists      3.1 KiB
//   5d6e7f8a9b0c  done        45.6 MiB as 1f2e3d4c5b6a 12.1 MiB
//
// (the last: a layer compressed on the way, shown by its uncompressed digest
// and size until it is done, then by the blob pushed for it too)
// redrawn in place (the cursor moves up over the lines drawn before and each
// line is cleared and rewritten) at most once per kRedrawInterval, and a
// last time by finish(). Lines are cut to the terminal's width, so none
// wraps, and the redrawn block never has more lines than the terminal has
// rows less one: when an image has more blobs than that, finished blobs
// leave the block (printed once more above it, where the terminal scrolls
// them away) and the blobs that do not fit yet are counted on the block's
// last line ("... 12 more"). Elsewhere (Mode::kLines: a pipe, a CI log) each
// state change is one line of its own and byte counts are not repeated.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "ecr/transfer.hpp"

namespace ecr::cli {

// Ten redraws a second: fast enough to look live, slow enough that a
// transfer of many small blobs does not spend its time drawing (docker's
// progress output is throttled the same way).
inline constexpr std::chrono::milliseconds kRedrawInterval{100};

// "512 B", "1.5 KiB", "45.6 MiB", "2.0 GiB": binary units, one decimal.
std::string human_bytes(std::int64_t bytes);

// The terminal's size in characters (TIOCGWINSZ), 80x24 when unknown.
struct TerminalSize {
  std::size_t columns = 80;
  std::size_t rows = 24;
};

class ProgressView {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Mode { kTerminal, kLines };

  explicit ProgressView(Mode mode, TerminalSize size = {}) : mode_(mode), size_(size) {}

  // Records `event`, which arrived at `now`, and returns what to write to the
  // terminal now (often nothing: a redraw is due at most every
  // kRedrawInterval; a line only when a blob's state changes).
  std::string update(const ProgressEvent& event, Clock::time_point now);

  // What to write when the transfer ends (done, failed or cancelled): on a
  // terminal, the last state of every line, drawn once more unless nothing
  // changed since the last redraw; nothing in line mode (every change was
  // printed when it happened).
  std::string finish(Clock::time_point now);

  // The terminal changed size (SIGWINCH). What was drawn before may have
  // been reflowed by the terminal, so the next redraw starts a new block
  // below it instead of moving up over rows it can no longer count.
  void resize(TerminalSize size);

 private:
  struct Blob {
    Digest digest;
    BlobState state = BlobState::kChecking;
    std::int64_t done = 0;
    std::int64_t total = 0;
    std::optional<Descriptor> stored_as = std::nullopt;  // ProgressEvent::stored_as
    // When the bytes started moving (the first uploading/downloading event)
    // and how many were done then, for the rate.
    bool moving = false;
    Clock::time_point started{};
    std::int64_t done_at_start = 0;
    Clock::time_point last{};
  };

  std::string line(const Blob& blob) const;
  static std::string stored_as(const Blob& blob);  // " as <digest> <size>" when done
  std::string fitted(std::string text) const;  // cut to the terminal's width
  std::string redraw();
  double rate(const Blob& blob) const;  // bytes per second; 0 when unknown

  Mode mode_;
  TerminalSize size_;
  std::vector<Blob> blobs_;   // the redrawn block, in the order they first appeared
  std::set<Digest> retired_;  // finished blobs that left the block
  std::size_t drawn_lines_ = 0;
  bool dirty_ = false;
  bool drawn_once_ = false;
  Clock::time_point last_draw_{};
};

}  // namespace ecr::cli
