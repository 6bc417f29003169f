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

bool finished(BlobState s) {
  return s == BlobState::kDone || s == BlobState::kExists || s == BlobState::kCached;
}

}  // namespace

std::string ProgressView::stored_as(const Blob& b) {
  if (!b.stored_as || b.state != BlobState::kDone) return {};
  return " as " + std::string(b.stored_as->digest.hex().substr(0, kShortDigest)) + " " +
         human_bytes(b.stored_as->size);
}

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
      text += " " + human_bytes(b.total) + stored_as(b);
    }
    // No trailing blanks: "checking" pads to nothing.
    while (!text.empty() && text.back() == ' ') text.pop_back();
    return text;
  }
  text = name + " " + state;
  if (b.state != BlobState::kChecking) text += " " + human_bytes(b.total) + stored_as(b);
  if (b.state == BlobState::kDone && per_second > 0) {
    text += " (" + human_bytes(static_cast<std::int64_t>(per_second)) + "/s)";
  }
  return text;
}

std::string ProgressView::fitted(std::string text) const {
  // One column is left free: a line that fills the last column makes some
  // terminals wrap, and the block would then take more rows than counted.
  const std::size_t width = size_.columns > 1 ? size_.columns - 1 : 1;
  if (text.size() > width) text.resize(width);
  return text;
}

std::string ProgressView::redraw() {
  std::string out;
  if (drawn_lines_ > 0) out += cursor_up(drawn_lines_);
  std::size_t retired = 0;
  // The block may use every row but one (the cursor's, below it).
  const std::size_t room = size_.rows > 2 ? size_.rows - 1 : 1;
  // Finished blobs leave a block that does not fit, oldest first: drawn
  // once more where the block starts, they scroll away with the output.
  for (auto it = blobs_.begin(); blobs_.size() > room && it != blobs_.end();) {
    if (!finished(it->state)) {
      ++it;
      continue;
    }
    out += kClearLine + fitted(line(*it)) + "\n";
    retired_.insert(it->digest);
    it = blobs_.erase(it);
    ++retired;
  }
  const std::size_t shown = blobs_.size() > room ? room - 1 : blobs_.size();
  for (std::size_t i = 0; i < shown; ++i) out += kClearLine + fitted(line(blobs_[i])) + "\n";
  std::size_t drawn = shown;
  if (shown < blobs_.size()) {
    out += kClearLine + fitted("... " + std::to_string(blobs_.size() - shown) + " more") + "\n";
    ++drawn;
  }
  // Rows left over from a taller block are cleared (and count as the
  // block's from now on: the cursor stands below them).
  std::size_t blank = 0;
  for (; retired + drawn + blank < drawn_lines_; ++blank) out += std::string(kClearLine) + "\n";
  drawn_lines_ = drawn + blank;
  dirty_ = false;
  return out;
}

std::string ProgressView::update(const ProgressEvent& e, Clock::time_point now) {
  if (const auto it = retired_.find(e.digest); it != retired_.end()) {
    // A blob that left the block stays out unless it moves again (e.g. a
    // cached blob found damaged and downloaded).
    if (finished(e.state)) return {};
    retired_.erase(it);
  }
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
  blob->stored_as = e.stored_as;
  blob->last = now;

  if (mode_ == Mode::kLines) return changed ? line(*blob) + "\n" : std::string();
  dirty_ = true;
  if (drawn_once_ && now - last_draw_ < kRedrawInterval) return {};
  drawn_once_ = true;
  last_draw_ = now;
  return redraw();
}

void ProgressView::resize(TerminalSize size) {
  size_ = size;
  drawn_lines_ = 0;
  dirty_ = true;
}

std::string ProgressView::finish(Clock::time_point now) {
  if (mode_ == Mode::kLines || !dirty_) return {};
  last_draw_ = now;
  return redraw();
}

}  // namespace ecr::cli
