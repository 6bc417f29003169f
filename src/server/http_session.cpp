#include "server/http_session.hpp"

#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/stream_base.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/status.hpp>
#include <cerrno>
#include <cstring>
#include <limits>
#include <vector>

#include "http/http_date.hpp"

namespace ecr::server {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

// The largest single read of a body: big enough that a 28 MB part takes a
// few dozen reads rather than httplib's 7,000 4 KiB ones, small enough that
// the step's hashing stays in cache and one connection's hashing does not
// hold an I/O thread for long (1 MiB at 1.6 GB/s: 0.6 ms).
constexpr std::size_t kBodyReadBytes = 1u << 20;
// While a plain connection's Content-Length body arrives in large reads, its
// socket wakes the next read only once this many bytes wait, or all the body
// still owes when that is less (SO_RCVLOWAT). On a link that paces the body
// (a WAN) each wake-up otherwise takes what one segment brought: the bench's
// wan push cost ecr-local 2.4-3.0 CPU-s per GB against 1.5-1.9 on loopback,
// with one read, epoll wake-up, timer reset and handler hand-over per 72 KB.
//   - Only after a read of kBodyLowWaterBytes / 4 or more, so a client that
//     trickles its body is read as it comes.
//   - Never more than the body owes, so its end is never waited for.
//   - Half a body timeout into a read still waiting, the mark drops back to
//     one byte (which wakes the read if anything waits): a client that slows
//     down keeps the body timeout's meaning, a byte within it is progress.
//   - Back to one byte once the body is in, before the next header is read.
//   - Not over TLS: bytes OpenSSL read ahead would be counted twice.
constexpr std::size_t kBodyLowWaterBytes = 256 * 1024;
// The first read of a request, and each further read of its header: sized
// for a whole API request header, so an idle connection that sends one
// costs no more than this.
constexpr std::size_t kFirstReadBytes = 8 * 1024;
// Body bytes received at once that are hashed on a handler thread, behind
// the next read, rather than on the I/O thread: a few hundred microseconds
// of SHA-256 and more, worth a round trip to the handler pool.
constexpr std::size_t kHandlerHashBytes = 256 * 1024;
// A chunked body is decoded by Beast's parser through this much at a time.
constexpr std::size_t kChunkedReadBytes = 256 * 1024;
// A streamed body (BodyPlan::kStream) passes through two buffers of this
// size: the socket fills one while a handler thread hands the other to the
// route. A streaming request costs 2 MiB whatever its body's size, pieces
// reach the route as whole MiB rather than socket-sized slivers (one handler
// round trip per MiB), and it matches kBodyReadBytes.
constexpr std::size_t kStreamBufferBytes = 1u << 20;
// Over TLS a blob download is read from its file this much at a time: each
// piece is a round trip to a handler thread (write_file_piece), so a large
// one. Plain connections use sendfile (kSendfileBytes).
constexpr std::size_t kFileWriteBytes = 1u << 20;
// The most one sendfile(2) call is asked to send: a plain connection's
// handler thread sends until the socket is full (usually sooner), and a
// call that reads this much from disk holds the thread no longer than a
// TLS piece's pread does.
constexpr std::size_t kSendfileBytes = 8u << 20;
// After refusing a request whose body was not read, the connection reads and
// drops what the client still sends for this long before closing, so that
// the close does not reset the connection (and lose the refusal) while the
// client is still sending. A TLS connection waits this long for the
// client's close_notify.
constexpr std::chrono::seconds kLingerTimeout{2};

// What the first line of a request that Beast did not parse says, as far as
// it goes: the method and the request-target (cut short when the line is).
struct RequestLine {
  std::string_view method;
  std::string_view target;
};

RequestLine peek_request_line(std::string_view bytes) {
  RequestLine line;
  const std::size_t end = std::min(bytes.find_first_of("\r\n"), bytes.size());
  bytes = bytes.substr(0, end);
  const std::size_t space = bytes.find(' ');
  if (space == std::string_view::npos) return line;
  line.method = bytes.substr(0, space);
  const std::string_view rest = bytes.substr(space + 1);
  line.target = rest.substr(0, std::min(rest.find(' '), rest.size()));
  return line;
}

// Whether a request line may begin with this byte: its method is a token
// (RFC 9110 section 5.6.2).
bool can_start_request(unsigned char c) {
  if (c >= '0' && c <= '9') return true;
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

}  // namespace

std::string serialize_head(const HttpResponse& response, bool keep_alive, bool http10) {
  std::string head;
  head.reserve(256);
  head += "HTTP/1.1 ";
  head += std::to_string(response.status);
  head += ' ';
  const auto reason = bhttp::obsolete_reason(static_cast<bhttp::status>(response.status));
  head.append(reason.data(), reason.size());
  head += "\r\n";
  for (const auto& [name, value] : response.headers) {
    head += name;
    head += ": ";
    head += value;
    head += "\r\n";
  }
  // RFC 9110 section 6.6.1: a server with a clock sends Date on every
  // response. Clients read the server's time from it to correct their own
  // (SigV4 refuses a signature 15 minutes off; ecr/clock.hpp).
  if (response.header("Date").empty()) {
    head += "Date: ";
    head += http::format_http_date(std::chrono::system_clock::now());
    head += "\r\n";
  }
  head += "Content-Length: ";
  head += std::to_string(response.body_length());
  head += "\r\n";
  if (!keep_alive) {
    head += "Connection: close\r\n";
  } else if (http10) {
    head += "Connection: keep-alive\r\n";
  }
  head += "\r\n";
  return head;
}

// The two buffers a streamed body (BodyPlan::kStream) passes through: the
// socket fills buffers[reading] while a handler thread passes the other to
// the route's BodyStream. The handler's task holds the pipe too, so a pipe
// dropped while write() runs (the client left) stays alive until it returns.
struct BodyPipe {
  struct Buffer {
    std::unique_ptr<char[]> bytes;  // allocated when first read into
    std::size_t filled = 0;
  };
  explicit BodyPipe(std::shared_ptr<BodyStream> receiver) : stream(std::move(receiver)) {}

  std::shared_ptr<BodyStream> stream;
  std::array<Buffer, 2> buffers;
  std::size_t reading = 0;
  bool read_pending = false;   // the socket is filling buffers[reading]
  bool writing = false;        // a handler thread is passing buffers[1 - reading]
  bool declined = false;       // write() returned false: the rest is read and dropped
  bool threw = false;          // write() threw
  std::uint64_t received = 0;  // body bytes read (Content-Length bodies)
  std::uint64_t passed = 0;    // bytes handed to write()
};

template <class Stream>
void HttpListener::Session<Stream>::start() {
  if constexpr (kTls) {
    // The handshake is timed as a header is: a client that connects and
    // says nothing is closed after header_timeout. Its first bytes are read
    // here, before OpenSSL sees them, to tell a TLS client from a plain
    // HTTP one.
    tcp().expires_after(listener_.options_.header_timeout);
    tcp().async_read_some(buffer_.prepare(kFirstReadBytes),
                          [self = this->shared_from_this()](error_code ec, std::size_t n) {
                            if (ec) return self->close();
                            self->buffer_.commit(n);
                            self->on_first_bytes();
                          });
  } else {
    wait_for_request();
  }
}

// TLS listener only: a TLS record (a ClientHello: 0x16) goes on to the
// handshake with the bytes already read; the start of a request line (a
// client given http:// for this port) is answered in plain HTTP.
template <class Stream>
void HttpListener::Session<Stream>::on_first_bytes() {
  if constexpr (kTls) {
    const auto first = static_cast<unsigned char>(*static_cast<const char*>(buffer_.data().data()));
    if (first != 0x16 && can_start_request(first)) return refuse_plain_http();
    stream_.async_handshake(asio::ssl::stream_base::server, buffer_.data(),
                            [self = this->shared_from_this()](error_code ec, std::size_t used) {
                              // Not TLS, a certificate the client refused, or a
                              // client that gave up.
                              if (ec) return self->close();
                              self->buffer_.consume(used);
                              self->wait_for_request();
                            });
  }
}

// TLS listener only: plain HTTP where a handshake was expected. The answer
// is written on the TCP layer, in plain HTTP, so the client can read it
// (curl prints it; without it curl says "Empty reply from server"); then the
// connection ends as a plain one does, lingering so the close does not
// reset the connection under the answer.
template <class Stream>
void HttpListener::Session<Stream>::refuse_plain_http() {
  started_ = std::chrono::steady_clock::now();
  const RequestLine line = peek_request_line(
      std::string_view(static_cast<const char*>(buffer_.data().data()), buffer_.size()));
  request_.method = std::string(line.method);
  request_.target = std::string(line.target);
  request_.path = request_.target.substr(0, request_.target.find('?'));
  try {
    listener_.routes_.refuse(Refusal::kPlainHttpOnTlsListener, request_, response_);
  } catch (const std::exception&) {
    response_ = HttpResponse();
    response_.status = 500;
  }
  head_ = serialize_head(response_, /*keep_alive=*/false, /*http10=*/false);
  head_ += response_.body;
  tcp().expires_after(listener_.options_.write_timeout);
  asio::async_write(tcp(), asio::buffer(head_),
                    [self = this->shared_from_this()](error_code ec, std::size_t) {
                      if (!ec) self->bytes_out_ = self->response_.body.size();
                      self->record_exchange(!ec);
                      if (ec) return self->close();
                      error_code ignored;
                      self->tcp().socket().shutdown(tcp::socket::shutdown_send, ignored);
                      self->tcp().expires_after(kLingerTimeout);
                      self->buffer_.clear();
                      self->linger();
                    });
}

template <class Stream>
void HttpListener::Session<Stream>::wait_for_request() {
  request_ = HttpRequest();
  response_ = HttpResponse();
  body_unread_ = false;
  http10_ = false;
  head_only_ = false;
  layer_part_ = PartTargetSource();
  intake_ = false;
  if (buffer_.size() > 0) {  // a pipelined request is already here
    read_header();
    return;
  }
  // An idle keep-alive connection keeps no buffer.
  buffer_.shrink_to_fit();
  tcp().expires_after(listener_.options_.idle_timeout);
  stream_.async_read_some(buffer_.prepare(kFirstReadBytes),
                          [self = this->shared_from_this()](error_code ec, std::size_t n) {
                            if (ec) return self->close();
                            self->buffer_.commit(n);
                            self->read_header();
                          });
}

template <class Stream>
void HttpListener::Session<Stream>::read_header() {
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(listener_.options_.max_header_bytes));
  // Body sizes are the routes' to judge (BodyPlan); Beast's default of 1 MB
  // would refuse every layer part. (Boost 1.74's parser compares a
  // Content-Length against boost::none as "over the limit", hence a number.)
  parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
  // One deadline for the whole header, from its first byte: reads in
  // gather_header() do not move it, so a header trickled a byte at a time
  // is cut off as one that stalls.
  tcp().expires_after(listener_.options_.header_timeout);
  header_scanned_ = 0;
  gather_header();
}

// Reads until buffer_ holds the whole header (up to its empty line), then
// has Beast parse it in one go. Beast's own header read (async_read_header)
// applies header_limit to what each read brings, not to the header as a
// whole: a header arriving in pieces could grow without bound, field by
// field. Here the bytes before the end of the header are counted together.
template <class Stream>
void HttpListener::Session<Stream>::gather_header() {
  const std::size_t limit = listener_.options_.max_header_bytes;
  if (header_scanned_ == 0) {
    // RFC 9112 section 2.2: empty lines before a request line are ignored
    // (some clients end a body with an extra CRLF). They count against
    // header_timeout like any other header byte.
    const std::string_view held(static_cast<const char*>(buffer_.data().data()), buffer_.size());
    buffer_.consume(std::min(held.find_first_not_of("\r\n"), held.size()));
  }
  const std::string_view bytes(static_cast<const char*>(buffer_.data().data()), buffer_.size());
  static constexpr std::string_view kEnd = "\r\n\r\n";
  const std::size_t from = header_scanned_ > kEnd.size() ? header_scanned_ - kEnd.size() + 1 : 0;
  const std::size_t end = bytes.find(kEnd, from);
  if (end == std::string_view::npos) {
    if (header_scanned_ == 0 && !bytes.empty()) {
      // A first byte no request can start with is refused at once, not after
      // header_timeout. It matters for clients that try https before http
      // (skopeo, podman and docker with an insecure registry): their TLS
      // ClientHello (record type 0x16) holds no empty line, and the
      // handshake timeout (10 s in Go's clients) would pass on every command
      // before they fall back to plain HTTP. The answer, plain HTTP, fails
      // their handshake at once.
      const auto first = static_cast<unsigned char>(bytes.front());
      if (!kTls && first == 0x16) {
        body_unread_ = true;
        return refuse(Refusal::kTlsOnPlainListener);
      }
      if (!can_start_request(first)) return on_header(bhttp::error::bad_method);
    }
    if (bytes.size() > limit) return on_header(bhttp::error::header_limit);
    header_scanned_ = bytes.size();
    // Into the room the buffer has (the first read left most of its 8 KiB),
    // so a header trickling in does not grow it.
    const std::size_t room = buffer_.capacity() - buffer_.size();
    stream_.async_read_some(buffer_.prepare(room >= 512 ? room : kFirstReadBytes),
                            [self = this->shared_from_this()](error_code ec, std::size_t n) {
                              if (ec) return self->on_header(ec);
                              self->buffer_.commit(n);
                              self->gather_header();
                            });
    return;
  }
  const std::size_t header_bytes = end + kEnd.size();
  if (header_bytes > limit) return on_header(bhttp::error::header_limit);
  error_code ec;
  const std::size_t used = parser_->put(asio::buffer(buffer_.data().data(), header_bytes), ec);
  if (!ec && !parser_->is_header_done()) ec = bhttp::error::partial_message;
  if (ec) return on_header(ec);  // the header stays in buffer_ for the refusal
  buffer_.consume(used);
  on_header(ec);
}

template <class Stream>
void HttpListener::Session<Stream>::on_header(error_code ec) {
  if (ec == beast::error::timeout || ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
      ec == asio::error::connection_reset || ec == asio::error::operation_aborted) {
    return close();
  }
  started_ = std::chrono::steady_clock::now();
  const ListenerOptions& limits = listener_.options_;
  if (ec) {
    // gather_header() leaves a header it could not parse in the buffer: what
    // its request line holds tells which door the answer speaks for, and
    // whether the request-target alone is over its limit.
    const RequestLine line = peek_request_line(
        std::string_view(static_cast<const char*>(buffer_.data().data()), buffer_.size()));
    request_.method = std::string(line.method);
    request_.target = std::string(line.target);
    request_.path = request_.target.substr(0, request_.target.find('?'));
    // The client may still be sending its header: linger, so that closing
    // does not reset the connection under the answer.
    body_unread_ = true;
    if (line.target.size() > limits.max_target_bytes) return refuse(Refusal::kTargetTooLong);
    if (ec == bhttp::error::header_limit) return refuse(Refusal::kHeaderTooLarge);
    return refuse(Refusal::kMalformed);
  }

  const auto& message = parser_->get();
  request_.method = std::string(message.method_string());
  request_.target = std::string(message.target());
  // Refused from the header alone, before a body the request may carry.
  auto refuse_header = [this](Refusal why) {
    body_unread_ = parser_->chunked() || parser_->content_length().value_or(0) > 0;
    refuse(why);
  };
  if (request_.target.size() > limits.max_target_bytes) {
    request_.path = request_.target.substr(0, request_.target.find('?'));
    return refuse_header(Refusal::kTargetTooLong);
  }
  if ((message.version() != 10 && message.version() != 11) ||
      !parse_target(request_.target, request_)) {
    return refuse_header(Refusal::kMalformed);
  }
  std::size_t fields = 0;
  for (const auto& field : message) {
    if (field.name_string().size() + 2 + field.value().size() > limits.max_header_field_bytes) {
      return refuse_header(Refusal::kHeaderFieldTooLarge);
    }
    ++fields;
  }
  if (fields > limits.max_header_fields) return refuse_header(Refusal::kTooManyHeaderFields);
  request_.headers.reserve(fields);
  for (const auto& field : message) {
    request_.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  if (auto length = parser_->content_length()) request_.content_length = *length;
  request_.chunked = parser_->chunked();
  keep_alive_ = parser_->keep_alive();
  http10_ = message.version() == 10;
  head_only_ = request_.method == "HEAD";
  const bool has_body = request_.chunked || request_.content_length.value_or(0) > 0;

  BodyPlan plan;
  try {
    plan = listener_.routes_.screen(request_, response_);
  } catch (const std::exception&) {
    body_unread_ = has_body;
    return refuse(Refusal::kInternal);
  }
  if (plan.kind == BodyPlan::Kind::kAnswered) {
    if (has_body) {
      body_unread_ = true;
      keep_alive_ = false;
    }
    return respond();
  }
  max_body_ = plan.max_body_bytes;
  if (plan.kind == BodyPlan::Kind::kStream) {
    if (!plan.stream) {  // a route's mistake, answered as one
      body_unread_ = has_body;
      return refuse(Refusal::kInternal);
    }
    pipe_ = std::make_shared<BodyPipe>(std::move(plan.stream));
    if (request_.chunked) parser_->body_limit(max_body_);
  } else {
    body_hash_.emplace();
    // A chunked body goes through Beast's parser a chunk at a time: hashed
    // only, and its part decoded by the handler.
    layer_part_ = request_.chunked ? PartTargetSource() : std::move(plan.layer_part);
  }
  if (!has_body) return body_complete();
  if (request_.content_length && *request_.content_length > max_body_) {
    body_unread_ = true;
    return refuse(Refusal::kBodyTooLarge);
  }
  const std::string_view expect = request_.header("Expect");
  if (beast::iequals(beast::string_view(expect.data(), expect.size()), "100-continue")) {
    tcp().expires_after(listener_.options_.write_timeout);
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    asio::async_write(stream_, asio::buffer(kContinue.data(), kContinue.size()),
                      [self = this->shared_from_this()](error_code write_ec, std::size_t) {
                        if (write_ec) return self->close();
                        self->start_body();
                      });
    return;
  }
  start_body();
}

template <class Stream>
void HttpListener::Session<Stream>::start_body() {
  if (pipe_) return buffer_.size() > 0 ? pump_stream() : await_body_bytes();
  if (request_.chunked) return read_chunked_body();
  body_filled_ = 0;
  last_body_read_ = 0;
  body_hashed_ = 0;
  if (buffer_.size() > 0) return take_buffered_body_bytes();
  await_body_bytes();
}

// Waits for the body's first bytes before leasing a scratch (or allocating
// a stream's buffers) for it, so a client that sends a header and stalls
// holds no body buffer.
template <class Stream>
void HttpListener::Session<Stream>::await_body_bytes() {
  tcp().expires_after(listener_.options_.body_timeout);
  stream_.async_read_some(buffer_.prepare(std::min<std::uint64_t>(
                              kFirstReadBytes, request_.content_length.value_or(kFirstReadBytes))),
                          [self = this->shared_from_this()](error_code ec, std::size_t n) {
                            if (ec) return self->body_read_failed(ec);
                            self->buffer_.commit(n);
                            self->start_body();
                          });
}

// Moves the body bytes that arrived with the header (or were read into the
// connection's buffer) into the request's scratch, then reads the rest.
template <class Stream>
void HttpListener::Session<Stream>::take_buffered_body_bytes() {
  request_.scratch = std::make_unique<ScratchPool::Lease>(listener_.scratch_.lease());
  body().clear();
  const std::uint64_t length = *request_.content_length;
  const std::size_t take =
      static_cast<std::size_t>(std::min<std::uint64_t>(buffer_.size(), length));
  const auto* data = static_cast<const char*>(buffer_.data().data());
  body().reserve(std::max<std::size_t>(take, std::min<std::uint64_t>(length, kBodyReadBytes)) +
                 simdjson::SIMDJSON_PADDING);
  body().append(data, take);
  intake_ = static_cast<bool>(layer_part_);
  if (intake_) {
    RequestScratch& scratch = **request_.scratch;
    scratch.intake.start(static_cast<std::size_t>(length), scratch.part, scratch.parser,
                         std::move(layer_part_));
  }
  take_in(data, take);
  buffer_.consume(take);
  body_filled_ = take;
  body_hashed_ = take;
  read_body();
}

// Reads the rest of a Content-Length body straight into the scratch. The
// string's size runs at most kBodyReadBytes ahead of the bytes received (the
// window a read may fill), and its capacity at most doubles what arrived, so
// a connection's memory follows what it sent, not what it claimed. The bytes
// are hashed behind the reads (hash_received): the body is complete once it
// is all in and all hashed.
template <class Stream>
void HttpListener::Session<Stream>::read_body() {
  const std::size_t length = static_cast<std::size_t>(*request_.content_length);
  if (body_filled_ == length) {
    if (body_hashing_ || body_hashed_ < length) return;  // hashed() comes back here
    body().resize(length);
    return body_complete();
  }
  std::string& b = body();
  if (b.size() <= body_filled_) {
    const std::size_t window_end = std::min(length, body_filled_ + kBodyReadBytes);
    if (b.capacity() < window_end + simdjson::SIMDJSON_PADDING) {
      // Growing moves the bytes a handler thread may be hashing.
      if (body_hashing_) return;  // hashed() comes back here
      b.reserve(std::min(length, std::max(window_end, 2 * body_filled_)) +
                simdjson::SIMDJSON_PADDING);
    }
    b.resize(window_end);
  }
  if constexpr (!kTls) {
    if (last_body_read_ >= kBodyLowWaterBytes / 4 || low_water_ > 1) {
      set_low_water(std::min(kBodyLowWaterBytes, length - body_filled_));
    }
    if (low_water_ > 1) watch_low_water();
  }
  tcp().expires_after(listener_.options_.body_timeout);
  body_read_pending_ = true;
  stream_.async_read_some(asio::buffer(b.data() + body_filled_, b.size() - body_filled_),
                          [self = this->shared_from_this()](error_code ec, std::size_t n) {
                            self->body_read_pending_ = false;
                            self->last_body_read_ = n;
                            if constexpr (!kTls) self->low_water_timer_.cancel();
                            if (ec) {
                              // The scratch must outlive a hash in flight.
                              if (self->body_hashing_) {
                                self->body_read_error_ = ec;
                                return;
                              }
                              return self->body_read_failed(ec);
                            }
                            self->body_filled_ += n;
                            self->hash_received();
                            self->read_body();
                          });
}

// Hashes the body's bytes received and not hashed yet. A large stretch is
// hashed on a handler thread while the next read fills the window beyond
// it: on one connection SHA-256 (0.6 ms per MiB) was the pace of a part's
// receipt, with the socket read waiting behind it. The bytes hashed lie
// below body_filled_, where no read writes, and the buffer does not move
// while a hash is in flight (read_body). A short stretch is hashed here.
template <class Stream>
void HttpListener::Session<Stream>::hash_received() {
  if (body_hashing_ || body_hashed_ == body_filled_) return;
  const char* from = body().data() + body_hashed_;
  const std::size_t n = body_filled_ - body_hashed_;
  if (n < kHandlerHashBytes) {
    take_in(from, n);
    body_hashed_ += n;
    return;
  }
  body_hashing_ = true;
  asio::post(*listener_.handlers_, [self = this->shared_from_this(), from, n] {
    self->take_in(from, n);
    asio::post(self->stream_.get_executor(), [self, n] { self->hashed(n); });
  });
}

// Hashes body bytes received, through an UploadLayerPart's intake when the
// body has one (which also decodes, digests and writes its part).
template <class Stream>
void HttpListener::Session<Stream>::take_in(const char* data, std::size_t n) {
  if (intake_) return (*request_.scratch)->intake.take(data, n);
  body_hash_->update(data, n);
}

template <class Stream>
void HttpListener::Session<Stream>::hashed(std::size_t n) {
  body_hashing_ = false;
  body_hashed_ += n;
  if (body_read_error_) {
    const error_code ec = *body_read_error_;
    body_read_error_.reset();
    return body_read_failed(ec);
  }
  hash_received();
  if (!body_read_pending_) read_body();
}

// A chunked body goes through Beast's parser (which decodes the chunk
// framing) a chunk_ at a time.
template <class Stream>
void HttpListener::Session<Stream>::read_chunked_body() {
  if (!request_.scratch) {
    request_.scratch = std::make_unique<ScratchPool::Lease>(listener_.scratch_.lease());
    body().clear();
    chunk_.resize(kChunkedReadBytes);
    parser_->body_limit(max_body_);
  }
  if (parser_->is_done()) {
    body_filled_ = body().size();
    body().reserve(body_filled_ + simdjson::SIMDJSON_PADDING);
    return body_complete();
  }
  auto& target = parser_->get().body();
  target.data = chunk_.data();
  target.size = chunk_.size();
  tcp().expires_after(listener_.options_.body_timeout);
  bhttp::async_read_some(
      stream_, buffer_, *parser_, [self = this->shared_from_this()](error_code ec, std::size_t) {
        if (ec == bhttp::error::need_buffer) ec = {};
        if (ec) return self->body_read_failed(ec);
        const std::size_t n = self->chunk_.size() - self->parser_->get().body().size;
        self->body_hash_->update(self->chunk_.data(), n);
        self->body().append(self->chunk_.data(), n);
        self->read_chunked_body();
      });
}

// A body read that failed: the client ended its side or left, sent a bad
// chunk or more than the route takes, or went quiet past body_timeout.
template <class Stream>
void HttpListener::Session<Stream>::body_read_failed(error_code ec) {
  set_low_water(1);  // what is read next (a lingering drain) is not a body
  low_water_timer_.cancel();
  if (ec == bhttp::error::body_limit) {
    body_unread_ = true;  // the client may still be sending: linger
    return refuse(Refusal::kBodyTooLarge);
  }
  if (ec == asio::error::eof || ec == bhttp::error::partial_message ||
      ec == bhttp::error::end_of_stream) {
    return refuse(Refusal::kIncompleteBody);
  }
  if (ec.category() == bhttp::make_error_code(bhttp::error::bad_chunk).category()) {
    return refuse(Refusal::kMalformed);
  }
  close();
}

// Moves a streamed body along (BodyPlan::kStream): hands the buffer being
// filled to the handler side once it is full (or holds the body's last
// bytes) and that side is free, and reads into the other meanwhile. While
// both buffers are full nothing is read, so the client waits on TCP flow
// control rather than the server buffering. Runs after every read and every
// write(); a pending read runs it again when it completes.
template <class Stream>
void HttpListener::Session<Stream>::pump_stream() {
  BodyPipe& pipe = *pipe_;
  if (pipe.read_pending) return;
  const bool body_in =
      request_.chunked ? parser_->is_done() : pipe.received == *request_.content_length;
  if (pipe.threw) {
    body_unread_ = !body_in;
    return refuse(Refusal::kInternal);
  }
  BodyPipe::Buffer& in = pipe.buffers[pipe.reading];
  if (in.filled == kStreamBufferBytes || (body_in && in.filled > 0)) {
    if (pipe.writing) return;  // piece_passed() comes back here
    if (pipe.declined) {
      in.filled = 0;
    } else {
      pass_piece();
    }
  }
  if (!body_in) return read_stream_piece();
  if (!pipe.writing) stream_complete();
}

// Reads into the free part of buffers[reading]: straight from the socket
// for a Content-Length body (never past its end, where a pipelined request
// may follow), through Beast's parser for a chunked one.
template <class Stream>
void HttpListener::Session<Stream>::read_stream_piece() {
  BodyPipe& pipe = *pipe_;
  BodyPipe::Buffer& in = pipe.buffers[pipe.reading];
  if (!in.bytes) in.bytes = std::make_unique_for_overwrite<char[]>(kStreamBufferBytes);
  char* space = in.bytes.get() + in.filled;
  const std::size_t room = kStreamBufferBytes - in.filled;
  auto landed = [self = this->shared_from_this()](error_code ec, std::size_t n) {
    BodyPipe& p = *self->pipe_;
    p.read_pending = false;
    if (ec) return self->body_read_failed(ec);
    p.buffers[p.reading].filled += n;
    if (!self->request_.chunked) p.received += n;
    self->pump_stream();
  };
  if (request_.chunked) {
    auto& target = parser_->get().body();
    target.data = space;
    target.size = room;
    pipe.read_pending = true;
    tcp().expires_after(listener_.options_.body_timeout);
    bhttp::async_read_some(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this(), room, landed](error_code ec, std::size_t) {
          if (ec == bhttp::error::need_buffer) ec = {};
          landed(ec, room - self->parser_->get().body().size);
        });
    return;
  }
  const std::size_t want = static_cast<std::size_t>(
      std::min<std::uint64_t>(room, *request_.content_length - pipe.received));
  if (buffer_.size() > 0) {  // body bytes that arrived with the header
    const std::size_t take = std::min(buffer_.size(), want);
    std::memcpy(space, buffer_.data().data(), take);
    buffer_.consume(take);
    in.filled += take;
    pipe.received += take;
    return pump_stream();
  }
  pipe.read_pending = true;
  tcp().expires_after(listener_.options_.body_timeout);
  stream_.async_read_some(asio::buffer(space, want), landed);
}

// Gives buffers[reading] to a handler thread for write() and reads into the
// other one meanwhile.
template <class Stream>
void HttpListener::Session<Stream>::pass_piece() {
  BodyPipe& pipe = *pipe_;
  const std::size_t index = pipe.reading;
  pipe.reading = 1 - index;
  pipe.writing = true;
  pipe.passed += pipe.buffers[index].filled;
  asio::post(*listener_.handlers_, [self = this->shared_from_this(), pipe = pipe_, index] {
    const BodyPipe::Buffer& piece = pipe->buffers[index];
    bool taken = false;
    bool threw = false;
    try {
      taken = pipe->stream->write(std::string_view(piece.bytes.get(), piece.filled));
    } catch (const std::exception&) {
      threw = true;
    }
    asio::post(self->stream_.get_executor(),
               [self, pipe, taken, threw] { self->piece_passed(pipe, taken, threw); });
  });
}

template <class Stream>
void HttpListener::Session<Stream>::piece_passed(std::shared_ptr<BodyPipe> pipe, bool taken,
                                                 bool threw) {
  if (pipe != pipe_) return release_on_handler(std::move(pipe));  // dropped meanwhile
  pipe->writing = false;
  pipe->buffers[1 - pipe->reading].filled = 0;
  pipe->declined = !taken;
  pipe->threw = threw;
  pump_stream();
}

// The whole body was read and passed (or dropped after write() declined):
// the route's handle() finds the stream in the request.
template <class Stream>
void HttpListener::Session<Stream>::stream_complete() {
  request_.stream = std::move(pipe_->stream);
  request_.body_bytes = pipe_->passed;
  if (pipe_->declined) keep_alive_ = false;
  pipe_.reset();
  hand_to_handler();
}

template <class Stream>
void HttpListener::Session<Stream>::drop_stream() {
  if (pipe_) release_on_handler(std::move(pipe_));
}

// A stream's last reference goes on a handler thread: its destructor may
// touch the disk (a partial upload removed), which must not stall an I/O
// thread.
template <class Stream>
void HttpListener::Session<Stream>::release_on_handler(std::shared_ptr<BodyPipe> pipe) {
  asio::post(*listener_.handlers_, [pipe = std::move(pipe)]() mutable { pipe.reset(); });
}

template <class Stream>
void HttpListener::Session<Stream>::watch_low_water() {
  low_water_timer_.expires_after(listener_.options_.body_timeout / 2);
  low_water_timer_.async_wait([weak = this->weak_from_this()](error_code ec) {
    const auto self = weak.lock();
    if (ec || !self || !self->body_read_pending_) return;
    self->set_low_water(1);
  });
}

template <class Stream>
void HttpListener::Session<Stream>::set_low_water(std::size_t bytes) {
  if constexpr (!kTls) {
    if (bytes == low_water_) return;
    const int value = static_cast<int>(bytes);
    // Only a hint: a socket that refuses it wakes at every byte, as before.
    if (::setsockopt(tcp().socket().native_handle(), SOL_SOCKET, SO_RCVLOWAT, &value,
                     sizeof value) == 0) {
      low_water_ = bytes;
    }
  }
}

template <class Stream>
void HttpListener::Session<Stream>::body_complete() {
  set_low_water(1);
  if (pipe_) return stream_complete();
  request_.body_bytes = body_filled_;
  const Digest body_digest =
      intake_ ? (*request_.scratch)->intake.body_digest() : body_hash_->finish();
  request_.body_sha256 = std::string(body_digest.hex());
  body_hash_.reset();
  intake_ = false;
  if (!request_.chunked) chunk_ = std::string();
  hand_to_handler();
}

template <class Stream>
void HttpListener::Session<Stream>::hand_to_handler() {
  asio::post(*listener_.handlers_, [self = this->shared_from_this()] {
    try {
      self->listener_.routes_.handle(self->request_, self->response_);
    } catch (const std::exception&) {
      self->response_ = HttpResponse();
      try {
        self->listener_.routes_.refuse(Refusal::kInternal, self->request_, self->response_);
      } catch (const std::exception&) {
        self->response_.status = 500;
      }
    }
    // The scratch goes back to the pool, warm, before the response is sent;
    // a stream is released here, where its destructor may block.
    self->request_.scratch.reset();
    self->request_.stream.reset();
    asio::post(self->stream_.get_executor(), [self] { self->respond(); });
  });
}

template <class Stream>
void HttpListener::Session<Stream>::refuse(Refusal why) {
  if (!started_.time_since_epoch().count()) started_ = std::chrono::steady_clock::now();
  keep_alive_ = false;
  request_.scratch.reset();
  drop_stream();
  response_ = HttpResponse();
  try {
    listener_.routes_.refuse(why, request_, response_);
  } catch (const std::exception&) {
    response_ = HttpResponse();
    response_.status = 500;
  }
  respond();
}

template <class Stream>
void HttpListener::Session<Stream>::respond() {
  head_ = serialize_head(response_, keep_alive_, http10_);
  bytes_out_ = 0;
  tcp().expires_after(listener_.options_.write_timeout);
  if (response_.file && !head_only_) {
    file_sent_ = 0;
    if constexpr (kTls) {
      chunk_.resize(static_cast<std::size_t>(std::min<std::uint64_t>(
          kFileWriteBytes, std::max<std::uint64_t>(response_.file->length, 1))));
    } else {
      // sendfile(2) must find the socket full, not wait for room on a handler thread.
      error_code ec;
      tcp().socket().native_non_blocking(true, ec);
      if (ec) return exchange_done(false);
    }
    asio::async_write(stream_, asio::buffer(head_),
                      [self = this->shared_from_this()](error_code ec, std::size_t) {
                        if (ec) return self->exchange_done(false);
                        self->write_file_piece();
                      });
    return;
  }
  std::vector<asio::const_buffer> buffers{asio::buffer(head_)};
  if (!head_only_ && !response_.body.empty()) buffers.push_back(asio::buffer(response_.body));
  asio::async_write(stream_, buffers,
                    [self = this->shared_from_this()](error_code ec, std::size_t) {
                      if (!ec && !self->head_only_) self->bytes_out_ = self->response_.body.size();
                      self->exchange_done(!ec);
                    });
}

// Sends the next piece of a file range, from a handler thread: a blob not in
// the page cache (parts are written with O_DIRECT, blob_store.cpp) is read
// from the disk, and that wait must not stall the I/O threads and every
// connection on them.
//
// A plain connection takes the file with sendfile(2): the kernel hands the
// page cache's pages to the socket, with no copy through this process. Read
// and sent through a buffer, the two copies were 30% of ecr-local's CPU
// during a pull (perf: _copy_to_iter 17%, _copy_from_iter 13%). The socket
// is non-blocking: the handler thread sends until it is full, and the strand
// waits for room (wait_for_room). TLS encrypts in this process, so a TLS
// connection reads each piece into chunk_ and writes it through the stream.
template <class Stream>
void HttpListener::Session<Stream>::write_file_piece() {
  const FileRange& range = *response_.file;
  if (file_sent_ == range.length) return exchange_done(true);
  if constexpr (!kTls) {
    asio::post(*listener_.handlers_, [self = this->shared_from_this()] {
      const FileRange& file = *self->response_.file;
      const int socket = self->tcp().socket().native_handle();
      std::uint64_t sent = 0;
      int error = 0;
      while (self->file_sent_ + sent < file.length) {
        auto offset = static_cast<off_t>(file.offset + self->file_sent_ + sent);
        const ssize_t n = ::sendfile(socket, file.file->get(), &offset,
                                     static_cast<std::size_t>(std::min<std::uint64_t>(
                                         kSendfileBytes, file.length - self->file_sent_ - sent)));
        if (n > 0) {
          sent += static_cast<std::uint64_t>(n);
        } else if (n < 0 && errno == EINTR) {
          continue;
        } else {
          // 0: the file shrank under us; EAGAIN: the socket is full.
          error = n == 0 ? ENODATA : errno;
          break;
        }
      }
      asio::post(self->stream_.get_executor(),
                 [self, sent, error] { self->file_piece_sent(sent, error); });
    });
    return;
  }
  asio::post(*listener_.handlers_, [self = this->shared_from_this()] {
    const FileRange& file = *self->response_.file;
    const std::size_t want = static_cast<std::size_t>(
        std::min<std::uint64_t>(self->chunk_.size(), file.length - self->file_sent_));
    ssize_t n;
    do {
      n = ::pread(file.file->get(), self->chunk_.data(), want,
                  static_cast<off_t>(file.offset + self->file_sent_));
    } while (n < 0 && errno == EINTR);
    asio::post(self->stream_.get_executor(), [self, n] { self->send_file_piece(n); });
  });
}

template <class Stream>
void HttpListener::Session<Stream>::send_file_piece(ssize_t n) {
  if (n <= 0) return exchange_done(false);  // the file shrank under us: cut the response short
  tcp().expires_after(listener_.options_.write_timeout);
  asio::async_write(stream_, asio::buffer(chunk_.data(), static_cast<std::size_t>(n)),
                    [self = this->shared_from_this()](error_code ec, std::size_t written) {
                      if (ec) return self->exchange_done(false);
                      self->file_sent_ += written;
                      self->bytes_out_ += written;
                      self->write_file_piece();
                    });
}

template <class Stream>
void HttpListener::Session<Stream>::file_piece_sent(std::uint64_t sent, int error) {
  file_sent_ += sent;
  bytes_out_ += sent;
  if (file_sent_ == response_.file->length) return exchange_done(true);
  if (error != EAGAIN && error != EWOULDBLOCK) return exchange_done(false);  // cut short
  wait_for_room();
}

// Waits until the socket takes more of a file (sendfile left it full), for
// at most the write timeout without progress; the Beast stream's timeout
// covers only its own operations, so a timer of its own cancels the wait.
template <class Stream>
void HttpListener::Session<Stream>::wait_for_room() {
  room_timer_.expires_after(listener_.options_.write_timeout);
  room_timer_.async_wait([self = this->shared_from_this()](error_code ec) {
    // A timer that fired as the wait ended has been set again since: stale.
    if (ec || self->room_timer_.expiry() > std::chrono::steady_clock::now()) return;
    self->tcp().socket().cancel();
  });
  tcp().socket().async_wait(tcp::socket::wait_write,
                            [self = this->shared_from_this()](error_code ec) {
                              self->room_timer_.cancel();
                              if (ec) return self->exchange_done(false);
                              self->write_file_piece();
                            });
}

template <class Stream>
void HttpListener::Session<Stream>::record_exchange(bool completed) {
  ExchangeRecord record;
  record.elapsed = std::chrono::steady_clock::now() - started_;
  record.bytes_in = request_.body_bytes;
  record.bytes_out = bytes_out_;
  record.completed = completed;
  try {
    listener_.routes_.record(request_, response_, record);
  } catch (const std::exception&) {
    // The log line is lost; the connection is not.
  }
}

template <class Stream>
void HttpListener::Session<Stream>::exchange_done(bool completed) {
  record_exchange(completed);
  started_ = {};
  if (response_.file) chunk_ = std::string();
  if (!completed) return close();
  if (body_unread_ || !keep_alive_) return end_connection();
  wait_for_request();
}

// The connection ends after this response. Over TCP the sending side is
// shut down, and when the client may still be sending a body it was
// refused, what it sends is read and dropped for a while (linger) so the
// close does not reset the connection under the answer. Over TLS a
// close_notify goes out instead (RFC 9112 section 9.8) and the client's is
// awaited; OpenSSL fails that wait when data arrives instead (a body still
// coming), and the connection then lingers on the raw bytes. Either way
// kLingerTimeout bounds it.
template <class Stream>
void HttpListener::Session<Stream>::end_connection() {
  if constexpr (kTls) {
    tcp().expires_after(kLingerTimeout);
    stream_.async_shutdown([self = this->shared_from_this()](error_code ec) {
      if (!ec) return self->close();  // the client's close_notify came back
      self->linger();
    });
  } else {
    error_code ignored;
    tcp().socket().shutdown(tcp::socket::shutdown_send, ignored);
    if (!body_unread_) return close();
    tcp().expires_after(kLingerTimeout);
    buffer_.clear();
    linger();
  }
}

template <class Stream>
void HttpListener::Session<Stream>::linger() {
  tcp().async_read_some(buffer_.prepare(kFirstReadBytes),
                        [self = this->shared_from_this()](error_code ec, std::size_t) {
                          if (ec) return self->close();
                          self->linger();
                        });
}

template <class Stream>
void HttpListener::Session<Stream>::close() {
  drop_stream();
  error_code ignored;
  tcp().socket().close(ignored);
}

template class HttpListener::Session<beast::tcp_stream>;
template class HttpListener::Session<TlsStream>;

}  // namespace ecr::server
