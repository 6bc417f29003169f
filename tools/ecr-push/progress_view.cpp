#include "progress_view.hpp"

#include <cstdio>

namespace ecr::cli {
namespace {

// Docker shows the first 12 hex digits of a digest; so does `docker images`.
constexpr std::size_t kShortDigest = 12;

// Cursor movement and line clearing (ECMA-48): CUU moves the cursor up,
// EL 2 clears the whole line it stands on.
std::string cursor_up(std::size_t lines) { return "\x1b[" + std::to_string(lines) + "A"; }
constexpr const char* kClearLine = "\x1b[2K";

bool moves_bytes(BlobState s) { return s == BlobState::kUploading || s == BlobState::kDownloading; }

}  // namespace

std::string human_bytes(std::int64_t bytes) {
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB"};
  if (bytes < 1024) return std::to_string(bytes) + " B";
  double value = static_cast<double>(bytes) / 1024;
  std::size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(kUnits)) {
    value /= 1024;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, "%.1f %s", value, kUnits[unit]);
  return text;
}

double ProgressView::rate(const Blob& b) const {
  if (!b.moving) return 0;
  const double seconds = std::chrono::duration<double>(b.last - b.started).count();
  if (seconds <= 0) return 0;
  return static_cast<double>(b.done - b.done_at_start) / seconds;
}

std::string ProgressView::line(const Blob& b) const {
  const std::string name(b.digest.hex().substr(0, kShortDigest));
  const std::string state(blob_state_name(b.state));
  const double per_second = rate(b);
  std::string text;
  if (mode_ == Mode::kTerminal) {
    char head[64];
    std::snprintf(head, sizeof head, "%s  %-11s", name.c_str(), state.c_str());
    text = head;
    if (moves_bytes(b.state)) {
      text += " " + human_bytes(b.done) + " / " + human_bytes(b.total);
      if (per_second > 0) text += "  " + human_bytes(static_cast<std::int64_t>(per_second)) + "/s";
    } else if (b.state != BlobState::kChecking) {
      text += " " + human_bytes(b.total);
    }
    // No trailing blanks: "checking" pads to nothing.
    while (!text.empty() && text.back() == ' ') text.pop_back();
    return text;
  }
  text = name + " " + state;
  if (b.state != BlobState::kChecking) text += " " + human_bytes(b.total);
  if (b.state == BlobState::kDone && per_second > 0) {
    text += " (" + human_bytes(static_cast<std::int64_t>(per_second)) + "/s)";
  }
  return text;
}

std::string ProgressView::redraw() {
  std::string out;
  if (drawn_lines_ > 0) out += cursor_up(drawn_lines_);
  for (const Blob& b : blobs_) out += kClearLine + line(b) + "\n";
  drawn_lines_ = blobs_.size();
  dirty_ = false;
  return out;
}

std::string ProgressView::update(const ProgressEvent& e, Clock::time_point now) {
  Blob* blob = nullptr;
  for (Blob& b : blobs_) {
    if (b.digest == e.digest) blob = &b;
  }
  bool changed = false;
  if (!blob) {
    blobs_.push_back(Blob{.digest = e.digest, .state = e.state});
    blob = &blobs_.back();
    changed = true;
  }
  changed = changed || blob->state != e.state;
  if (moves_bytes(e.state) && !blob->moving) {
    blob->moving = true;
    blob->started = now;
    blob->done_at_start = e.bytes_done;
  }
  blob->state = e.state;
  blob->done = e.bytes_done;
  blob->total = e.bytes_total;
  blob->last = now;

  if (mode_ == Mode::kLines) return changed ? line(*blob) + "\n" : std::string();
  dirty_ = true;
  if (drawn_once_ && now - last_draw_ < kRedrawInterval) return {};
  drawn_once_ = true;
  last_draw_ = now;
  return redraw();
}

std::string ProgressView::finish(Clock::time_point now) {
  if (mode_ == Mode::kLines || !dirty_) return {};
  last_draw_ = now;
  return redraw();
}

}  // namespace ecr::cli
