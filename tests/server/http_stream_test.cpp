// Streamed request bodies (BodyPlan::kStream) through the real listener on a
// loopback port, with routes written here: the bytes reach the route's
// BodyStream exactly and in order, in large pieces, one write() at a time;
// the limits, a stream that declines or throws, a client that leaves
// mid-body, pipelining and 100-continue behave as http_exchange.hpp says;
// and a body far larger than memory costs the process a bounded amount of
// it. File responses (HttpResponse::file, sent with sendfile on plain
// connections) arrive exactly, over plain and TLS connections, and a client
// that leaves mid-file costs the process nothing. Clients are raw sockets, so the bytes on the wire
// are exactly these (and the curl transport for the one body over TLS).
#include <gtest/gtest.h>

#include <fcntl.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "ecr/digest.hpp"
#include "http/transport.hpp"
#include "server/http_listener.hpp"
#include "support/raw_connection.hpp"
#include "support/self_signed_certificate.hpp"

namespace ecr::server {
namespace {

using testing::RawConnection;
using testing::RawResponse;

// How long a test waits for something before it counts as failed: a failure
// bound, not a speed claim.
constexpr std::chrono::seconds kStreamFailureBound{20};
// The smallest piece a stream may see except the body's last: the listener
// passes whole buffers (1 MiB), never what one socket read happened to bring.
constexpr std::size_t kLargePiece = 512 * 1024;

// Pseudo-random bytes (xorshift64), the same for the same seed, so a piece
// out of order or torn shows.
std::string pattern_bytes(std::size_t size, std::uint64_t seed) {
  std::string s(size, '\0');
  std::uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (std::size_t i = 0; i < size; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    s[i] = static_cast<char>(x);
  }
  return s;
}

// What one request's stream saw, for the test to read once the answer is in.
struct StreamLog {
  std::mutex mu;
  std::condition_variable changed;
  std::string bytes;  // kept unless the stream only hashes
  std::vector<std::size_t> pieces;
  std::uint64_t total = 0;
  bool overlapped = false;     // a write() began while another ran
  int writes_after_false = 0;  // write() calls after one returned false
  bool destroyed = false;

  bool wait_destroyed() {
    std::unique_lock lock(mu);
    return changed.wait_for(lock, kStreamFailureBound, [this] { return destroyed; });
  }
};

// A BodyStream that records what it is given. `decline_after`: returns false
// once that many bytes arrived; `throw_after`: throws instead. `keep_bytes`
// false: only counts and hashes (the 300 MB body). `per_piece`: work each
// write() does first (the slow consumer).
class RecordingStream : public BodyStream {
 public:
  struct Behaviour {
    std::optional<std::uint64_t> decline_after;
    std::optional<std::uint64_t> throw_after;
    bool keep_bytes = true;
    std::function<void()> per_piece;
  };
  RecordingStream(std::shared_ptr<StreamLog> log, Behaviour behaviour)
      : log_(std::move(log)), behaviour_(std::move(behaviour)) {}
  ~RecordingStream() override {
    std::lock_guard lock(log_->mu);
    log_->destroyed = true;
    log_->changed.notify_all();
  }

  bool write(std::string_view piece) override {
    if (busy_.exchange(true)) mark_overlap();
    if (behaviour_.per_piece) behaviour_.per_piece();
    bool taken = true;
    {
      std::lock_guard lock(log_->mu);
      if (declined_) ++log_->writes_after_false;
      log_->pieces.push_back(piece.size());
      log_->total += piece.size();
      if (behaviour_.keep_bytes) log_->bytes.append(piece);
      if (behaviour_.decline_after && log_->total >= *behaviour_.decline_after) {
        declined_ = true;
        taken = false;
      }
    }
    hash_.update(piece);
    busy_.store(false);
    if (behaviour_.throw_after && log_->total >= *behaviour_.throw_after) {
      throw std::runtime_error("the disk is on fire");
    }
    return taken;
  }

  std::string hex() { return std::string(hash_.finish().hex()); }

 private:
  void mark_overlap() {
    std::lock_guard lock(log_->mu);
    log_->overlapped = true;
  }

  std::shared_ptr<StreamLog> log_;
  Behaviour behaviour_;
  std::atomic<bool> busy_{false};
  bool declined_ = false;
  Sha256 hash_;
};

// POST /stream streams the body into a RecordingStream and answers 200 with
// "bytes=<request.body_bytes> sha256=<hash of what the stream got>"; POST
// /buffer takes the body whole (up to max_body) and answers
// "bytes=<request.body_bytes> body_sha256=<the listener's hash of it>"; GET /
// answers "ok". Refusals are answered with their status and the name of the
// refusal in the body.
class StreamRoutes : public HttpRoutes {
 public:
  std::uint64_t max_body = 64u << 20;
  RecordingStream::Behaviour behaviour;
  // GET /file answers this range of this file.
  std::optional<FileRange> file;

  // The log of the next streamed request.
  std::shared_ptr<StreamLog> next_log() {
    std::lock_guard lock(mu_);
    log_ = std::make_shared<StreamLog>();
    return log_;
  }
  int handled() {
    std::lock_guard lock(mu_);
    return handled_;
  }

  BodyPlan screen(const HttpRequest& request, HttpResponse&) override {
    if (request.path == "/buffer") return BodyPlan::buffer(max_body);
    if (request.path != "/stream") return BodyPlan::buffer(1024);
    std::lock_guard lock(mu_);
    if (!log_) log_ = std::make_shared<StreamLog>();
    return BodyPlan::streamed(std::make_shared<RecordingStream>(log_, behaviour), max_body);
  }

  void handle(HttpRequest& request, HttpResponse& response) override {
    {
      std::lock_guard lock(mu_);
      ++handled_;
    }
    response.status = 200;
    if (request.path == "/buffer") {
      response.body =
          "bytes=" + std::to_string(request.body_bytes) + " body_sha256=" + request.body_sha256;
      return;
    }
    if (request.path == "/file" && file) {
      response.file = file;
      return;
    }
    if (request.path != "/stream") {
      response.body = "ok";
      return;
    }
    auto* stream = dynamic_cast<RecordingStream*>(request.stream.get());
    response.body = "bytes=" + std::to_string(request.body_bytes) +
                    " sha256=" + (stream ? stream->hex() : "none") +
                    " body_sha256=" + request.body_sha256;
  }

  void refuse(Refusal why, const HttpRequest&, HttpResponse& response) override {
    switch (why) {
      case Refusal::kBodyTooLarge:
        response.status = 413;
        response.body = "too large";
        return;
      case Refusal::kIncompleteBody:
        response.status = 400;
        response.body = "incomplete";
        return;
      case Refusal::kInternal:
        response.status = 500;
        response.body = "internal";
        return;
      default:
        response.status = 400;
        response.body = "refused";
    }
  }

  void record(const HttpRequest&, const HttpResponse&, const ExchangeRecord&) override {}

 private:
  std::mutex mu_;
  std::shared_ptr<StreamLog> log_;
  int handled_ = 0;
};

class StreamedBodies : public ::testing::Test {
 protected:
  void start(ListenerOptions options = {}) {
    tls_ = !options.tls_certificate_file.empty();
    options.io_threads = 1;
    options.handler_threads = 4;
    listener_ = std::make_unique<HttpListener>(options, routes_, scratch_);
    port_ = listener_->bind("127.0.0.1", 0);
    serving_ = std::thread([this] { listener_->run(); });
  }
  void TearDown() override {
    if (!listener_) return;
    if (!tls_) {  // the listener still answers
      RawConnection c(port_);
      ASSERT_TRUE(c.connected());
      c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
      auto answer = c.read_response();
      EXPECT_TRUE(answer && answer->status == 200);
    }
    listener_->stop();
    serving_.join();
    listener_.reset();
  }

  // Starts the listener on TLS (a fresh self-signed certificate) and sends
  // one request to `path` through the curl transport.
  http::Response start_tls_and_send(const std::string& method, const std::string& path,
                                    const std::string& body) {
    testing::SelfSignedCertificate certificate;
    ListenerOptions options;
    options.tls_certificate_file = certificate.cert_path();
    options.tls_private_key_file = certificate.key_path();
    start(options);
    http::TransportOptions transport_options;
    transport_options.ca_bundle = certificate.cert_path();
    return http::make_curl_transport(transport_options)
        ->send({method, "https://127.0.0.1:" + std::to_string(port_) + path, {}, body});
  }

  static std::string stream_head(std::uint64_t content_length) {
    return "POST /stream HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(content_length) +
           "\r\n\r\n";
  }
  static constexpr const char* kChunkedHead =
      "POST /stream HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  static std::string chunk(std::string_view bytes) {
    char size[32];
    std::snprintf(size, sizeof size, "%zx\r\n", bytes.size());
    return size + std::string(bytes) + "\r\n";
  }
  static std::string buffer_head(std::uint64_t content_length) {
    return "POST /buffer HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(content_length) +
           "\r\n\r\n";
  }
  // What /buffer answers for `body`.
  static std::string buffered_answer_for(const std::string& body) {
    Sha256 hash;
    hash.update(body);
    return "bytes=" + std::to_string(body.size()) +
           " body_sha256=" + std::string(hash.finish().hex());
  }
  static std::string answer_for(const std::string& body) {
    Sha256 hash;
    hash.update(body);
    return "bytes=" + std::to_string(body.size()) + " sha256=" + std::string(hash.finish().hex()) +
           " body_sha256=";
  }
  static void expect_large_pieces(const StreamLog& log) {
    ASSERT_FALSE(log.pieces.empty());
    for (std::size_t i = 0; i + 1 < log.pieces.size(); ++i) {
      EXPECT_GE(log.pieces[i], kLargePiece) << "piece " << i << " of " << log.pieces.size();
    }
  }

  StreamRoutes routes_;
  ScratchPool scratch_;
  std::unique_ptr<HttpListener> listener_;
  std::thread serving_;
  int port_ = 0;
  bool tls_ = false;
};

TEST_F(StreamedBodies, ContentLengthBodyArrivesExactlyAndInOrder) {
  start();
  auto log = routes_.next_log();
  const std::string body = pattern_bytes(3 * (1u << 20) + 12'345, 1);
  RawConnection c(port_);
  ASSERT_TRUE(c.connected());

  ASSERT_TRUE(c.send(stream_head(body.size()) + body));
  auto response = c.read_response();

  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, answer_for(body));  // body_sha256 stays empty
  std::lock_guard lock(log->mu);
  EXPECT_TRUE(log->bytes == body);
  EXPECT_FALSE(log->overlapped);
  expect_large_pieces(*log);
}

TEST_F(StreamedBodies, ChunkedBodyWithOddChunkSizesArrivesExactlyAndInOrder) {
  start();
  auto log = routes_.next_log();
  const std::string body = pattern_bytes(5 * (1u << 20) + 777, 2);
  const std::size_t sizes[] = {1, 7, 4093, 65'537, 300'001, 2, 1'048'577, 123'457};
  std::string wire = kChunkedHead;
  for (std::size_t at = 0, i = 0; at < body.size(); ++i) {
    const std::size_t n = std::min(sizes[i % std::size(sizes)], body.size() - at);
    wire += chunk(std::string_view(body).substr(at, n));
    at += n;
  }
  wire += "0\r\n\r\n";
  RawConnection c(port_);
  ASSERT_TRUE(c.connected());

  // Sent in uneven slices, so chunk headers straddle the reads.
  for (std::size_t at = 0, step = 1; at < wire.size(); at += step, step = step * 3 % 100'003 + 1) {
    ASSERT_TRUE(c.send(std::string_view(wire).substr(at, step)));
  }
  auto response = c.read_response();

  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, answer_for(body));
  std::lock_guard lock(log->mu);
  EXPECT_TRUE(log->bytes == body);
  EXPECT_FALSE(log->overlapped);
  expect_large_pieces(*log);
}

TEST_F(StreamedBodies, SmallSendsStillReachTheStreamAsLargePieces) {
  start();
  auto log = routes_.next_log();
  const std::string body = pattern_bytes(8u << 20, 3);
  RawConnection c(port_);
  ASSERT_TRUE(c.connected());

  ASSERT_TRUE(c.send(stream_head(body.size())));
  for (std::size_t at = 0; at < body.size(); at += 4096) {
    ASSERT_TRUE(c.send(std::string_view(body).substr(at, 4096)));
  }
  auto response = c.read_response();

  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->body, answer_for(body));
  std::lock_guard lock(log->mu);
  expect_large_pieces(*log);
  EXPECT_LE(log->pieces.size(), body.size() / kLargePiece);
}

TEST_F(StreamedBodies, StreamThatDeclinesGetsNoMoreAndTheConnectionClosesAfterTheAnswer) {
  routes_.behaviour.decline_after = 2u << 20;
  start();
  auto log = routes_.next_log();
  const std::string body = pattern_bytes(8u << 20, 4);
  RawConnection c(port_);
  ASSERT_TRUE(c.connected());

  ASSERT_TRUE(c.send(stream_head(body.size()) + body));
  auto response = c.read_response();

  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);  // handle() ran after the rest was read
  EXPECT_EQ(response->headers["connection"], "close");
  EXPECT_TRUE(c.closed_by_server());
  std::lock_guard lock(log->mu);
  EXPECT_EQ(log->writes_after_false, 0);
  EXPECT_GE(log->total, 2u << 20);
  EXPECT_LT(log->total, body.size());
  EXPECT_TRUE(log->bytes == body.substr(0, log->total));
  EXPECT_EQ(response->body.substr(0, response->body.find(' ')),
            "bytes=" + std::to_string(log->total));
}

TEST_F(StreamedBodies, DeclaredBodyOverTheLimitIs413BeforeAnyPiece) {
  routes_.max_body = 1u << 20;
  start();
  auto log = routes_.next_log();
  RawConnection c(port_);
  ASSERT_TRUE(c.connected());

  ASSERT_TRUE(c.send(stream_head((1u << 20) + 1)));
  auto response = c.read_response();

  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 413);
  EXPECT_TRUE(c.closed_by_server());
  EXPECT_EQ(routes_.handled(), 0);
  EXPECT_TRUE(log->wait_destroyed());
  std::lock_guard lock(log->mu);
  EXPECT_TRUE(log->pieces.empty());
}

TEST_F(StreamedBodies, ChunkedBodyPassingTheLimitIs413) {
  routes_.max_body = 3u << 20;
  start();
  auto log = routes_.next_log();
  RawConnection c(port_);
  ASSERT_TRUE(c.connected());

  c.send(kChunkedHead);
  const std::string piece = chunk(pattern_bytes(1u << 20, 5));
  for (int i = 0; i < 6 && c.send(piece); ++i) {
  }
  auto response = c.read_response();

  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 413);
  EXPECT_EQ(routes_.handled(), 0);
  EXPECT_TRUE(log->wait_destroyed());
  std::lock_guard lock(log->mu);
  EXPECT_LE(log->total, 3u << 20);
}

TEST_F(StreamedBodies, ClientEndingItsSideMidBodyDropsTheStreamWithoutHandle) {
  start();
  auto log = routes_.next_log();
  const std::string body = pattern_bytes(4u << 20, 6);
  RawConnection c(port_);
  ASSERT_TRUE(c.connected());

  ASSERT_TRUE(c.send(stream_head(body.size() + 1) + body));
  c.end_sending();
  auto response = c.read_response();

  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 400);
  EXPECT_EQ(response->body, "incomplete");
  EXPECT_TRUE(log->wait_destroyed());
  EXPECT_EQ(routes_.handled(), 0);
}

// A buffered body's hash is taken behind the reads, large stretches on a
// handler thread: sent in uneven pieces, it is still the hash of exactly
// the body, in order.
TEST_F(StreamedBodies, BufferedBodyIsHashedExactlyWhateverItsPieces) {
  start();
  const std::string body = pattern_bytes(5 * (1u << 20) + 99, 8);
  RawConnection c(port_);
  ASSERT_TRUE(c.connected());

  ASSERT_TRUE(c.send(buffer_head(body.size())));
  for (std::size_t at = 0, step = 1; at < body.size(); at += step, step = step * 7 % 400'009 + 1) {
    ASSERT_TRUE(c.send(std::string_view(body).substr(at, step)));
  }
  auto response = c.read_response();

  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, buffered_answer_for(body));
}

// A plain connection's socket wakes a body read only once 256 KiB wait, or
// all the body still owes (SO_RCVLOWAT, http_session.cpp). Sent with pauses
// that let the server drain its socket: a stretch below the mark waits for
// the next, the body's last 100 bytes wake it, and the next request's
// 27-byte header is read although the mark was at 100 when the body ended.
TEST_F(StreamedBodies, PausedBodyEndingBelowTheLowWaterMarkIsAnsweredAndSoIsTheNextRequest) {
  start();
  const std::string body = pattern_bytes(700 * 1024 + 100, 10);
  RawConnection c(port_);
  ASSERT_TRUE(c.connected());

  ASSERT_TRUE(c.send(buffer_head(body.size())));
  std::size_t at = 0;
  for (const std::size_t step : {300 * 1024, 200 * 1024, 200 * 1024, 100}) {
    ASSERT_TRUE(c.send(std::string_view(body).substr(at, step)));
    at += step;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(at, body.size());
  auto response = c.read_response();

  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, buffered_answer_for(body));

  ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto next = c.read_response();
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->status, 200);
}

// The client ends its side while megabytes of a buffered body are being
// hashed: the refusal waits for the hash (which reads the request's buffer)
// and is answered as for any short body.
TEST_F(StreamedBodies, ClientEndingItsSideMidBufferedBodyIsAnsweredIncomplete) {
  start();
  const std::string body = pattern_bytes(4u << 20, 9);
  RawConnection c(port_);
  ASSERT_TRUE(c.connected());

  ASSERT_TRUE(c.send(buffer_head(body.size() + 1) + body));
  c.end_sending();
  auto response = c.read_response();

  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 400);
  EXPECT_EQ(response->body, "incomplete");
  EXPECT_EQ(routes_.handled(), 0);
}

TEST_F(StreamedBodies, ClientLeavingMidBodyDropsTheStreamWithoutHandle) {
  routes_.behaviour.per_piece = [] { std::this_thread::sleep_for(std::chrono::milliseconds(5)); };
  start();
  auto log = routes_.next_log();
  const std::string part = pattern_bytes(3u << 20, 7);
  {
    RawConnection c(port_);
    ASSERT_TRUE(c.connected());
    ASSERT_TRUE(c.send(stream_head(10u << 20) + part));
  }  // closed with 7 MiB of the body unsent

  EXPECT_TRUE(log->wait_destroyed());
  EXPECT_EQ(routes_.handled(), 0);
}

TEST_F(StreamedBodies, WriteThatThrowsIsAnswered500WithoutHandle) {
  routes_.behaviour.throw_after = 1;
  start();
  auto log = routes_.next_log();
  const std::string body = pattern_bytes(6u << 20, 8);
  RawConnection c(port_);
  ASSERT_TRUE(c.connected());

  c.send(stream_head(body.size()) + body);
  auto response = c.read_response();

  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 500);
  EXPECT_EQ(response->headers["connection"], "close");
  EXPECT_EQ(routes_.handled(), 0);
  EXPECT_TRUE(log->wait_destroyed());
  std::lock_guard lock(log->mu);
  EXPECT_EQ(log->pieces.size(), 1u);
}

TEST_F(StreamedBodies, EmptyBodyReachesHandleWithTheStreamAndNoPiece) {
  start();
  auto log = routes_.next_log();
  RawConnection c(port_);
  ASSERT_TRUE(c.connected());

  c.send(stream_head(0));
  auto response = c.read_response();

  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->body, answer_for(""));
  std::lock_guard lock(log->mu);
  EXPECT_TRUE(log->pieces.empty());
}

TEST_F(StreamedBodies, ExpectContinueIsAnsweredBeforeTheBodyIsRead) {
  start();
  auto log = routes_.next_log();
  const std::string body = pattern_bytes((2u << 20) + 5, 9);
  RawConnection c(port_);
  ASSERT_TRUE(c.connected());

  c.send("POST /stream HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n");
  auto interim = c.read_response();
  ASSERT_TRUE(interim.has_value());
  EXPECT_EQ(interim->status, 100);
  c.send(body);
  auto response = c.read_response();

  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->body, answer_for(body));
}

TEST_F(StreamedBodies, PipelinedRequestsAfterStreamedOnesAreAnswered) {
  start();
  const std::string first = pattern_bytes((1u << 20) + 3, 10);
  const std::string second = pattern_bytes(70'000, 11);
  RawConnection c(port_);
  ASSERT_TRUE(c.connected());

  c.send(stream_head(first.size()) + first + "GET / HTTP/1.1\r\nHost: x\r\n\r\n" + kChunkedHead +
         chunk(second) + "0\r\n\r\n" + "GET / HTTP/1.1\r\nHost: x\r\n\r\n");

  auto a = c.read_response();
  auto b = c.read_response();
  auto d = c.read_response();
  auto e = c.read_response();
  ASSERT_TRUE(a && b && d && e);
  EXPECT_EQ(a->body, answer_for(first));
  EXPECT_EQ(b->body, "ok");
  EXPECT_EQ(d->body, answer_for(second));
  EXPECT_EQ(e->body, "ok");
}

// The session is one template over the stream: a streamed body over TLS
// arrives as over TCP.
TEST_F(StreamedBodies, BodyOverTlsArrivesExactlyAndInLargePieces) {
  auto log = routes_.next_log();
  const std::string body = pattern_bytes(5 * (1u << 20) + 99, 13);

  const http::Response response = start_tls_and_send("POST", "/stream", body);

  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, answer_for(body));
  std::lock_guard lock(log->mu);
  EXPECT_TRUE(log->bytes == body);
  expect_large_pieces(*log);
}

// A file on disk that GET /file answers with, from `skip` bytes in to
// `skip` bytes before its end.
class FileResponses : public StreamedBodies {
 protected:
  static constexpr std::uint64_t kSkip = 4097;

  void SetUp() override {
    path_ = std::filesystem::temp_directory_path() /
            ("ecr-file-response-" + std::to_string(::getpid()) + ".bin");
    contents_ = pattern_bytes(24 * (1u << 20) + 12345, 21);
    std::ofstream(path_, std::ios::binary) << contents_;
    auto fd = std::make_shared<UniqueFd>(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
    ASSERT_GE(fd->get(), 0);
    routes_.file = FileRange{fd, kSkip, contents_.size() - 2 * kSkip};
  }
  void TearDown() override {
    StreamedBodies::TearDown();
    std::filesystem::remove(path_);
  }
  std::string expected() const { return contents_.substr(kSkip, contents_.size() - 2 * kSkip); }

  std::filesystem::path path_;
  std::string contents_;
};

TEST_F(FileResponses, AFileRangeArrivesExactlyTwiceOnOneConnection) {
  start();
  RawConnection c(port_);
  ASSERT_TRUE(c.connected());
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(c.send("GET /file HTTP/1.1\r\nHost: x\r\n\r\n"));
    const auto answer = c.read_response();
    ASSERT_TRUE(answer.has_value()) << "request " << i;
    EXPECT_EQ(answer->status, 200);
    EXPECT_EQ(answer->headers.at("content-length"), std::to_string(expected().size()));
    EXPECT_TRUE(answer->body == expected()) << "request " << i;
  }
}

TEST_F(FileResponses, AFileRangeArrivesExactlyOverTls) {
  const http::Response response = start_tls_and_send("GET", "/file", "");
  EXPECT_EQ(response.status, 200);
  EXPECT_TRUE(response.body == expected());
}

// SIGPIPE at its default (end the process): a send to a connection the
// client has reset fails with EPIPE on the handler thread instead, the
// listener goes on, and the next client gets the whole file.
TEST_F(FileResponses, AClientLeavingMidFileCostsTheProcessNothing) {
  std::signal(SIGPIPE, SIG_DFL);
  start();
  for (int i = 0; i < 3; ++i) {
    RawConnection c(port_);
    ASSERT_TRUE(c.connected());
    ASSERT_TRUE(c.send("GET /file HTTP/1.1\r\nHost: x\r\n\r\n"));
    ASSERT_GT(c.read_some(), 0u);
    // Closed with bytes unread: the kernel answers the server's next
    // segments with a reset.
  }
  RawConnection c(port_);
  ASSERT_TRUE(c.send("GET /file HTTP/1.1\r\nHost: x\r\n\r\n"));
  const auto answer = c.read_response();
  ASSERT_TRUE(answer.has_value());
  EXPECT_TRUE(answer->body == expected());
}

// VmRSS or VmHWM of this process, in bytes.
std::uint64_t status_bytes(const std::string& field) {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind(field + ":", 0) == 0) return std::stoull(line.substr(field.size() + 1)) * 1024;
  }
  return 0;
}

// Resets this process's VmHWM to its VmRSS; false where that is not allowed.
bool reset_peak_rss() {
  std::ofstream clear_refs("/proc/self/clear_refs");
  clear_refs << "5";
  clear_refs.flush();
  return clear_refs.good();
}

// 300 MB through a consumer slower than loopback: the listener stops
// reading while both buffers are full, so the process grows by a few MB,
// not by the body. The peak is VmHWM after resetting it (clear_refs 5),
// or, where that is not allowed, the largest VmRSS the consumer saw.
TEST_F(StreamedBodies, BodyLargerThanMemoryCostsABoundedAmountOfIt) {
  constexpr std::uint64_t kBody = 300'000'000;
  constexpr std::uint64_t kBound = 16u << 20;
  std::atomic<std::uint64_t> peak_seen{0};
  routes_.max_body = kBody;
  routes_.behaviour.keep_bytes = false;
  routes_.behaviour.per_piece = [&peak_seen] {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    const std::uint64_t rss = status_bytes("VmRSS");
    std::uint64_t seen = peak_seen.load();
    while (rss > seen && !peak_seen.compare_exchange_weak(seen, rss)) {
    }
  };
  start();
  auto log = routes_.next_log();
  const std::string block = pattern_bytes(1u << 20, 12);
  Sha256 sent;
  RawConnection c(port_);
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.send(stream_head(kBody)));
  const std::uint64_t before = status_bytes("VmRSS");
  const bool hwm_reset = reset_peak_rss();

  for (std::uint64_t at = 0; at < kBody; at += block.size()) {
    const std::string_view piece(block.data(), std::min<std::uint64_t>(block.size(), kBody - at));
    sent.update(piece);
    ASSERT_TRUE(c.send(piece));
  }
  auto response = c.read_response();

  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->body, "bytes=" + std::to_string(kBody) +
                                " sha256=" + std::string(sent.finish().hex()) + " body_sha256=");
  const std::uint64_t peak = hwm_reset ? status_bytes("VmHWM") : peak_seen.load();
  EXPECT_LT(peak, before + kBound)
      << "before " << before << " peak " << peak << (hwm_reset ? " (VmHWM)" : " (VmRSS seen)");
}

}  // namespace
}  // namespace ecr::server
