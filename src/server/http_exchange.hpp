// One HTTP exchange as ecr-local's routes see it: the request (method,
// target split into path and query, headers, the body and its SHA-256) and
// the response they fill in (status, headers, a body or a file range to
// stream). Nothing here names the library that owns the sockets
// (http_listener.hpp): routes are written against HttpRoutes and tested
// through any listener.
//
// A request reaches its route twice. screen() runs on an I/O thread as soon
// as the header is complete, before any byte of the body is read: it answers
// at once (a refusal from the header alone: 404, 413 from Content-Length) or
// says how the body is to be taken. handle() runs on a worker thread once the
// body is in, and may block (SQLite, fsync). A body is either buffered
// whole (BodyPlan::kBuffer, in a RequestScratch leased from the ScratchPool)
// or streamed (BodyPlan::kStream): handed piece by piece, as it arrives, to
// the route's BodyStream, so a body of any size (an OCI registry API PATCH
// of a whole layer) costs a bounded buffer, never its size in memory.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/file.hpp"
#include "http/transport.hpp"
#include "server/request_scratch.hpp"

namespace ecr::server {

class BodyStream;

struct HttpRequest {
  std::string method;  // as sent: "GET", "HEAD", "POST", ...
  std::string target;  // the request line's target, exactly as sent
  std::string path;    // target up to '?', not decoded
  // Query parameters in order, names and values percent-decoded ('+' is a
  // space, as in forms and AWS query strings).
  std::vector<std::pair<std::string, std::string>> query;
  http::Headers headers;  // as received, in order
  // From the header: the declared body length (nullopt when there is none
  // or the body is chunked) and whether the body is chunked.
  std::optional<std::uint64_t> content_length;
  bool chunked = false;

  // Set once the body was read (BodyPlan::kBuffer): the scratch holding it
  // in scratch->body, padded for simdjson (request_scratch.hpp); null for a
  // request without a body. The listener leases it when the body's first
  // bytes arrive, so idle connections hold none.
  std::unique_ptr<ScratchPool::Lease> scratch;
  std::size_t body_bytes = 0;
  // kBuffer: lowercase hex SHA-256 of the body, computed while it was read
  // (SigV4's payload hash); the hash of nothing for a request without a
  // body. kStream: empty (the stream hashes what it needs).
  std::string body_sha256;
  // kStream: the plan's receiver, after every piece was passed to it (or it
  // returned false); body_bytes counts the bytes passed to write(), the
  // piece it declined included. The listener releases it when handle()
  // returns, on the handler thread.
  std::shared_ptr<BodyStream> stream;

  // The first header of that name (case-insensitive); empty when absent.
  std::string_view header(std::string_view name) const;
  bool has_header(std::string_view name) const;
  // The first query parameter of that name; empty when absent.
  std::string_view query_value(std::string_view name) const;
  // The buffered body (empty without one).
  std::string_view body() const;
};

// Bytes of an open file to send as the response body.
struct FileRange {
  std::shared_ptr<const UniqueFd> file;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};

struct HttpResponse {
  int status = 200;
  // Sent as given. The listener adds Content-Length and, when it will close
  // the connection after this response, Connection: close.
  http::Headers headers;
  std::string body;               // the body, unless `file` is set
  std::optional<FileRange> file;  // streamed from the file instead of `body`

  // Replaces any header of that name (case-insensitive).
  void set_header(std::string_view name, std::string value);
  std::string_view header(std::string_view name) const;
  std::uint64_t body_length() const noexcept { return file ? file->length : body.size(); }
};

// Where a streamed body goes (BodyPlan::kStream): a route's receiver,
// created by screen() for one request.
class BodyStream {
 public:
  virtual ~BodyStream() = default;
  // Each piece of the body, in order, as it arrives (chunk framing already
  // removed), on a handler thread: it may block on the disk. Calls for one
  // request never overlap; the listener reads the next piece from the
  // socket while this one is written. Returning false (the route could not
  // take the piece: disk full, a limit of its own) stops the stream: no
  // more pieces are passed, the rest of the body is read and dropped and
  // the connection closes after the response. Must not throw; a throw is
  // answered as Refusal::kInternal.
  virtual bool write(std::string_view piece) = 0;
};

// How a route takes a request's body, decided from its header.
struct BodyPlan {
  enum class Kind {
    kAnswered,  // screen() filled in the response; the body is not read
    kBuffer,    // read the whole body into a leased scratch, then handle()
    kStream,    // pass the body to `stream` as it arrives, then handle()
  };
  Kind kind = Kind::kBuffer;
  // The most bytes a body may have: a declared Content-Length over it is
  // refused with 413 before the body is read (Refusal::kBodyTooLarge), and
  // so is a chunked body once it passes it.
  std::uint64_t max_body_bytes = 0;
  // kStream: the receiver; the listener also stores it in
  // HttpRequest::stream, where handle() finds it again.
  std::shared_ptr<BodyStream> stream;
  // kBuffer: set for an UploadLayerPart, whose Content-Length body the
  // listener passes, as it arrives, through the scratch's LayerPartIntake
  // (layer_part_intake.hpp); the intake takes the upload's layer digest from
  // here. Unset: the body is only hashed as it arrives.
  PartTargetSource layer_part;

  static BodyPlan answered() { return plan(Kind::kAnswered, 0, nullptr); }
  static BodyPlan buffer(std::uint64_t max_body_bytes) {
    return plan(Kind::kBuffer, max_body_bytes, nullptr);
  }
  static BodyPlan streamed(std::shared_ptr<BodyStream> stream, std::uint64_t max_body_bytes) {
    return plan(Kind::kStream, max_body_bytes, std::move(stream));
  }

 private:
  static BodyPlan plan(Kind kind, std::uint64_t max, std::shared_ptr<BodyStream> stream) {
    BodyPlan p;
    p.kind = kind;
    p.max_body_bytes = max;
    p.stream = std::move(stream);
    return p;
  }
};

// Why the listener refuses a request before any route saw it whole.
// What a client that began a TLS handshake on the plain HTTP listener is told
// (as bytes of plain HTTP, which its TLS library fails on at once).
inline constexpr std::string_view kTlsOnPlainListenerMessage =
    "This ecr-local listener speaks plain HTTP and the client began a TLS handshake: use an "
    "http:// endpoint, or start ecr-local with --tls-cert and --tls-key";
// What a client that sent plain HTTP to the TLS listener is told, in plain
// HTTP.
inline constexpr std::string_view kPlainHttpOnTlsListenerMessage =
    "This ecr-local listener speaks HTTPS and the client sent plain HTTP: use an https:// "
    "endpoint";

enum class Refusal {
  kMalformed,               // 400: not HTTP/1.x, a bad request line or header
  kTlsOnPlainListener,      // 400: a TLS handshake where plain HTTP was expected
  kPlainHttpOnTlsListener,  // 400: plain HTTP where a TLS handshake was expected
  kHeaderTooLarge,          // 431: the header passed ListenerOptions::max_header_bytes
  kTooManyHeaderFields,     // 431: more fields than ListenerOptions::max_header_fields
  kHeaderFieldTooLarge,     // 431: a field passed ListenerOptions::max_header_field_bytes
  kTargetTooLong,           // 414: the request-target passed ListenerOptions::max_target_bytes
  kBodyTooLarge,            // 413: a chunked body passed its route's max_body_bytes
  kIncompleteBody,          // 400: the client ended its side before the whole body
  kTooManyConnections,      // 503: ServerOptions::max_connections are open
  kInternal,                // 500: a route threw something it did not answer itself
};

// What the listener reports of each exchange once its response went out (or
// the connection failed while writing it): the log line's material.
struct ExchangeRecord {
  std::chrono::steady_clock::duration elapsed{};  // header complete -> response written
  std::size_t bytes_in = 0;                       // body bytes read
  std::uint64_t bytes_out = 0;                    // body bytes written
  bool completed = true;                          // false when the connection failed mid-response
};

class HttpRoutes {
 public:
  virtual ~HttpRoutes() = default;
  // On an I/O thread, once the header is complete; must not block. Sets
  // what every response carries (a request id) and either answers at once
  // (BodyPlan::kAnswered, `response` filled in) or plans the body.
  virtual BodyPlan screen(const HttpRequest& request, HttpResponse& response) = 0;
  // On a worker thread with the body read as planned. Exceptions that
  // escape are answered as Refusal::kInternal.
  virtual void handle(HttpRequest& request, HttpResponse& response) = 0;
  // Fills in the answer to a request the listener refused itself; `request`
  // holds whatever was parsed of it (possibly nothing).
  virtual void refuse(Refusal why, const HttpRequest& request, HttpResponse& response) = 0;
  // After each exchange's response, on an I/O thread; must not block long.
  virtual void record(const HttpRequest& request, const HttpResponse& response,
                      const ExchangeRecord& record) = 0;
};

// Splits a request target into path and decoded query parameters. False for
// a target that is not origin-form ("/..."), leaving `request` unchanged.
bool parse_target(std::string_view target, HttpRequest& request);

// "%41+b" -> "A b"; a '%' not followed by two hex digits stays as it is.
std::string percent_decode(std::string_view text);

// A single byte range of a `size`-byte entity (RFC 9110 section 14).
struct ByteRange {
  std::uint64_t first = 0;
  std::uint64_t length = 0;
};
// The range a Range header asks for: nullopt when the header is absent,
// not a single "bytes=" range (several ranges are answered whole, as the RFC
// allows) or syntactically invalid; a range with length 0 when it is valid
// but unsatisfiable (416).
std::optional<ByteRange> parse_byte_range(std::string_view header, std::uint64_t size);

// Answers with `file`'s first `size` bytes, or the single range the
// request's Range header asks for (206 with Content-Range; 416 when it lies
// past the end; several ranges get the whole), and Accept-Ranges: bytes.
// Leaves the status alone (200 unless set) for a whole answer.
void answer_with_file(const HttpRequest& request, HttpResponse& response,
                      std::shared_ptr<const UniqueFd> file, std::uint64_t size);

}  // namespace ecr::server
