// The progress display of ecr-push and ecr-pull: the exact text a terminal or
// a log receives for a sequence of engine events at given times.
#include "progress_view.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

namespace ecr::cli {
namespace {

using namespace std::chrono_literals;
using Clock = ProgressView::Clock;
constexpr std::int64_t kMiB = 1024 * 1024;

const Digest kA =
    Digest::parse("sha256:2c08ddd3f6dd05fb9768756e6ba3b1c203e4ad69cff1673318968b122e8458de");
const Digest kB =
    Digest::parse("sha256:9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b");

Clock::time_point at(std::chrono::milliseconds ms) { return Clock::time_point{} + 1h + ms; }

ProgressEvent event(const Digest& d, BlobState s, std::int64_t done, std::int64_t total) {
  return ProgressEvent{.digest = d, .state = s, .bytes_done = done, .bytes_total = total};
}

TEST(HumanBytes, BinaryUnitsWithOneDecimal) {
  EXPECT_EQ(human_bytes(0), "0 B");
  EXPECT_EQ(human_bytes(1023), "1023 B");
  EXPECT_EQ(human_bytes(1024), "1.0 KiB");
  EXPECT_EQ(human_bytes(1536), "1.5 KiB");
  EXPECT_EQ(human_bytes(45 * kMiB + 629146), "45.6 MiB");
  EXPECT_EQ(human_bytes(2048 * kMiB), "2.0 GiB");
}

TEST(ProgressViewLines, OneLinePerStateChangeAndNoByteSpam) {
  ProgressView view(ProgressView::Mode::kLines);
  std::string out;
  out += view.update(event(kA, BlobState::kChecking, 0, 20 * kMiB), at(0ms));
  out += view.update(event(kB, BlobState::kChecking, 0, 3 * 1024), at(0ms));
  out += view.update(event(kB, BlobState::kExists, 3 * 1024, 3 * 1024), at(5ms));
  out += view.update(event(kA, BlobState::kUploading, 0, 20 * kMiB), at(10ms));
  out += view.update(event(kA, BlobState::kUploading, 10 * kMiB, 20 * kMiB), at(510ms));
  out += view.update(event(kA, BlobState::kUploading, 20 * kMiB, 20 * kMiB), at(1010ms));
  out += view.update(event(kA, BlobState::kDone, 20 * kMiB, 20 * kMiB), at(2010ms));
  out += view.finish(at(2020ms));
  EXPECT_EQ(out,
            "2c08ddd3f6dd checking\n"
            "9a0b1c2d3e4f checking\n"
            "9a0b1c2d3e4f exists 3.0 KiB\n"
            "2c08ddd3f6dd uploading 20.0 MiB\n"
            "2c08ddd3f6dd done 20.0 MiB (10.0 MiB/s)\n");
}

TEST(ProgressViewTerminal, FirstEventDrawsAtOnce) {
  ProgressView view(ProgressView::Mode::kTerminal);
  EXPECT_EQ(view.update(event(kA, BlobState::kChecking, 0, kMiB), at(0ms)),
            "\x1b[2K2c08ddd3f6dd  checking\n");
}

TEST(ProgressViewTerminal, RedrawsInPlaceAtMostTenTimesASecond) {
  ProgressView view(ProgressView::Mode::kTerminal);
  view.update(event(kA, BlobState::kChecking, 0, 20 * kMiB), at(0ms));
  // Within 100 ms of the last draw: recorded, not drawn.
  EXPECT_EQ(view.update(event(kB, BlobState::kChecking, 0, 3 * 1024), at(40ms)), "");
  EXPECT_EQ(view.update(event(kA, BlobState::kUploading, 0, 20 * kMiB), at(60ms)), "");
  // 100 ms on: both lines redrawn over the one drawn before.
  EXPECT_EQ(view.update(event(kB, BlobState::kExists, 3 * 1024, 3 * 1024), at(100ms)),
            "\x1b[1A"
            "\x1b[2K2c08ddd3f6dd  uploading   0 B / 20.0 MiB\n"
            "\x1b[2K9a0b1c2d3e4f  exists      3.0 KiB\n");
  EXPECT_EQ(view.update(event(kA, BlobState::kUploading, 5 * kMiB, 20 * kMiB), at(560ms)),
            "\x1b[2A"
            "\x1b[2K2c08ddd3f6dd  uploading   5.0 MiB / 20.0 MiB  10.0 MiB/s\n"
            "\x1b[2K9a0b1c2d3e4f  exists      3.0 KiB\n");
}

TEST(ProgressViewTerminal, FinishDrawsTheLastStateOnce) {
  ProgressView view(ProgressView::Mode::kTerminal);
  view.update(event(kA, BlobState::kDownloading, 0, 4 * kMiB), at(0ms));
  EXPECT_EQ(view.update(event(kA, BlobState::kDone, 4 * kMiB, 4 * kMiB), at(20ms)), "");
  EXPECT_EQ(view.finish(at(30ms)),
            "\x1b[1A"
            "\x1b[2K2c08ddd3f6dd  done        4.0 MiB\n");
  EXPECT_EQ(view.finish(at(40ms)), "");
}

TEST(ProgressViewTerminal, NothingToFinishWhenTheLastDrawWasCurrent) {
  ProgressView view(ProgressView::Mode::kTerminal);
  view.update(event(kA, BlobState::kCached, kMiB, kMiB), at(0ms));
  EXPECT_EQ(view.finish(at(10ms)), "");
}

TEST(ProgressViewTerminal, LinesAreCutToTheTerminalWidthLessOne) {
  ProgressView view(ProgressView::Mode::kTerminal, TerminalSize{.columns = 30, .rows = 24});
  EXPECT_EQ(view.update(event(kA, BlobState::kUploading, 5 * kMiB, 20 * kMiB), at(0ms)),
            "\x1b[2K2c08ddd3f6dd  uploading   5.0\n");  // 29 characters
}

// A 4-row terminal redraws at most 3 lines: finished blobs leave the block
// (drawn once more above it) and what still does not fit is counted.
TEST(ProgressViewTerminal, MoreBlobsThanRowsKeepsTheBlockWithinTheScreen) {
  ProgressView view(ProgressView::Mode::kTerminal, TerminalSize{.columns = 80, .rows = 4});
  std::vector<Digest> d;
  for (char c : std::string("0123456")) d.push_back(Digest::parse("sha256:" + std::string(64, c)));
  std::string first;
  for (const auto& digest : d)
    first += view.update(event(digest, BlobState::kChecking, 0, 1024), at(0ms));
  // Only the first event drew (the rest came within 100 ms). At the next
  // draw d[0] is finished and the block does not fit, so d[0] leaves it:
  // printed once more where the block started (the terminal scrolls it away
  // later); the block below it is 3 rows, two blobs and a count.
  EXPECT_EQ(first, "\x1b[2K000000000000  checking\n");
  EXPECT_EQ(view.update(event(d[0], BlobState::kExists, 1024, 1024), at(100ms)),
            "\x1b[1A"
            "\x1b[2K000000000000  exists      1.0 KiB\n"
            "\x1b[2K111111111111  checking\n"
            "\x1b[2K222222222222  checking\n"
            "\x1b[2K... 4 more\n");
  // Redraws go over the 3-row block only.
  EXPECT_EQ(view.update(event(d[1], BlobState::kUploading, 0, 1024), at(200ms)),
            "\x1b[3A"
            "\x1b[2K111111111111  uploading   0 B / 1.0 KiB\n"
            "\x1b[2K222222222222  checking\n"
            "\x1b[2K... 4 more\n");
  // A later "done" for a blob that left the block draws nothing.
  EXPECT_EQ(view.update(event(d[0], BlobState::kDone, 1024, 1024), at(300ms)), "");
}

// A layer compressed on the way is shown by its uncompressed digest; once
// done, its line names the blob pushed for it too.
ProgressEvent done_as(const Digest& d, std::int64_t total, const Digest& stored,
                      std::int64_t stored_size) {
  ProgressEvent e = event(d, BlobState::kDone, total, total);
  e.stored_as = Descriptor{.media_type = std::string(media_type::kOciLayerGzip),
                           .digest = stored,
                           .size = stored_size};
  return e;
}

TEST(ProgressViewLines, ACompressedLayerNamesThePushedBlobWhenDone) {
  ProgressView view(ProgressView::Mode::kLines);
  std::string out;
  out += view.update(event(kA, BlobState::kUploading, 0, 30 * kMiB), at(0ms));
  out += view.update(done_as(kA, 30 * kMiB, kB, 10 * kMiB), at(1000ms));
  EXPECT_EQ(out,
            "2c08ddd3f6dd uploading 30.0 MiB\n"
            "2c08ddd3f6dd done 30.0 MiB as 9a0b1c2d3e4f 10.0 MiB (30.0 MiB/s)\n");
}

TEST(ProgressViewTerminal, ACompressedLayerNamesThePushedBlobWhenDone) {
  ProgressView view(ProgressView::Mode::kTerminal);
  EXPECT_EQ(view.update(done_as(kA, 30 * kMiB, kB, 10 * kMiB), at(0ms)),
            "\x1b[2K2c08ddd3f6dd  done        30.0 MiB as 9a0b1c2d3e4f 10.0 MiB\n");
}

// After SIGWINCH the old block may have been reflowed: the next redraw
// starts below it, cut to the new width, instead of moving up over it.
TEST(ProgressViewTerminal, AResizeStartsANewBlockAtTheNewWidth) {
  ProgressView view(ProgressView::Mode::kTerminal);
  view.update(event(kA, BlobState::kUploading, 5 * kMiB, 20 * kMiB), at(0ms));
  view.update(event(kB, BlobState::kChecking, 0, 1024), at(200ms));
  view.resize(TerminalSize{.columns = 24, .rows = 24});
  EXPECT_EQ(view.update(event(kB, BlobState::kExists, 1024, 1024), at(400ms)),
            "\x1b[2K2c08ddd3f6dd  uploading\n"  // 23 characters
            "\x1b[2K9a0b1c2d3e4f  exists   \n");
  // From then on it redraws in place again.
  EXPECT_EQ(view.update(event(kA, BlobState::kUploading, 6 * kMiB, 20 * kMiB), at(600ms)),
            "\x1b[2A"
            "\x1b[2K2c08ddd3f6dd  uploading\n"
            "\x1b[2K9a0b1c2d3e4f  exists   \n");
}

}  // namespace
}  // namespace ecr::cli
