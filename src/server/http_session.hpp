// One connection of ecr-local's HTTP listener (http_listener.hpp): reads a
// request, has it handled, writes the response, and again while the client
// keeps the connection alive. The same exchange runs over plain TCP
// (beast::tcp_stream) or TLS on top of it (TlsStream); only the start (the
// TLS handshake) and the end of a connection differ. Private to the
// listener: http_session.cpp instantiates both.
#pragma once

#include <sys/types.h>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>

#include "ecr/digest.hpp"
#include "server/http_exchange.hpp"
#include "server/http_listener.hpp"

namespace ecr::server {

using TlsStream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

// A streamed body's buffers (http_session.cpp).
struct BodyPipe;

// The status line and header of `response`, with a Date (the current time,
// unless the response has one), its Content-Length and the
// Connection header that keep_alive and the request's HTTP version call for.
std::string serialize_head(const HttpResponse& response, bool keep_alive, bool http10);

// Every step runs on the connection's strand; while a handler thread has the
// exchange, no I/O is pending, so request_ and response_ have one owner at a
// time.
template <class Stream>
class HttpListener::Session : public std::enable_shared_from_this<Session<Stream>> {
 public:
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

  // Takes an accepted socket: Stream(socket) or, for TLS, Stream(socket, context).
  template <class... StreamArgs>
  explicit Session(HttpListener& listener, StreamArgs&&... stream_args)
      : listener_(listener),
        stream_(std::forward<StreamArgs>(stream_args)...),
        room_timer_(stream_.get_executor()),
        low_water_timer_(stream_.get_executor()) {}
  ~Session() { listener_.connections_.fetch_sub(1, std::memory_order_relaxed); }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void start();

 private:
  using error_code = boost::system::error_code;

  void on_first_bytes();
  void refuse_plain_http();
  void wait_for_request();
  void read_header();
  void gather_header();
  void on_header(error_code ec);
  void start_body();
  void await_body_bytes();
  void take_buffered_body_bytes();
  void read_body();
  void hash_received();
  void hashed(std::size_t n);
  void take_in(const char* data, std::size_t n);
  void read_chunked_body();
  void body_read_failed(error_code ec);
  void pump_stream();
  void read_stream_piece();
  void pass_piece();
  void piece_passed(std::shared_ptr<BodyPipe> pipe, bool taken, bool threw);
  void stream_complete();
  void drop_stream();
  void release_on_handler(std::shared_ptr<BodyPipe> pipe);
  // Sets the socket's SO_RCVLOWAT (plain connections; kBodyLowWaterBytes).
  void set_low_water(std::size_t bytes);
  // Drops the mark back to one byte if the body read is still waiting half a
  // body timeout from now.
  void watch_low_water();
  void body_complete();
  void hand_to_handler();
  void refuse(Refusal why);
  void respond();
  void write_file_piece();
  void send_file_piece(ssize_t n);
  void file_piece_sent(std::uint64_t sent, int error);
  void wait_for_room();
  void record_exchange(bool completed);
  void exchange_done(bool completed);
  void end_connection();
  void linger();
  void close();
  std::string& body() { return (*request_.scratch)->body; }
  // The TCP layer: its timeouts and its socket.
  boost::beast::tcp_stream& tcp() { return boost::beast::get_lowest_layer(stream_); }

  HttpListener& listener_;
  Stream stream_;
  boost::asio::steady_timer room_timer_;       // bounds wait_for_room()
  boost::asio::steady_timer low_water_timer_;  // watch_low_water()
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::buffer_body>> parser_;

  HttpRequest request_;
  HttpResponse response_;
  std::chrono::steady_clock::time_point started_;
  bool keep_alive_ = true;
  bool http10_ = false;
  bool head_only_ = false;
  bool body_unread_ = false;        // refused before its body was read: close after
  std::size_t header_scanned_ = 0;  // bytes of buffer_ known not to end the header
  std::size_t max_body_ = 0;
  std::size_t body_filled_ = 0;
  std::size_t body_hashed_ = 0;     // body bytes fed to body_hash_
  bool body_hashing_ = false;       // a handler thread is feeding body_hash_
  bool body_read_pending_ = false;  // read_body's read is in flight
  std::size_t low_water_ = 1;       // the socket's SO_RCVLOWAT
  std::size_t last_body_read_ = 0;  // bytes the body's last read brought
  std::optional<boost::system::error_code> body_read_error_;  // held while hashing
  std::optional<Sha256> body_hash_;
  // An UploadLayerPart's (BodyPlan::layer_part): the body's bytes go through
  // the scratch's LayerPartIntake, which hashes them, instead of body_hash_.
  PartTargetSource layer_part_;
  bool intake_ = false;
  std::shared_ptr<BodyPipe> pipe_;  // a streamed body's (kStream), else null
  std::string chunk_;               // chunked bodies and file downloads pass through it

  std::string head_;
  std::uint64_t file_sent_ = 0;
  std::uint64_t bytes_out_ = 0;
};

extern template class HttpListener::Session<boost::beast::tcp_stream>;
extern template class HttpListener::Session<TlsStream>;

}  // namespace ecr::server
