// The libcurl implementation of Transport: one easy handle per in-flight
// request, borrowed from a pool so keep-alive connections outlive the call.
#include <curl/curl.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <exception>
#include <span>
#include <string>
#include <utility>

#include "core/text.hpp"
#include "ecr/error.hpp"
#include "http/curl_handles.hpp"
#include "http/curl_sockets.hpp"
#include "http/transport.hpp"

namespace ecr::http {

namespace {

constexpr const char* kUserAgent = "ecr-cpp/0.1";
// Bodies at least this large are sent in steps of this size (see send()).
constexpr long kLargeBodyBytes = 1L << 20;
// Bytes libcurl reads from a connection per recv (its default is 16 KiB).
// 1 MiB against 256 KiB: a cold pull of the bench's synthetic image into an
// oci-archive took 0.84 CPU-s against 0.92 (medians of 5, alternating):
// fewer receive calls, each with its share of TCP's work (window updates,
// acknowledgements). Its body callback still gets at most 16 KiB a call
// (CURL_MAX_WRITE_SIZE), whatever this size; downloads gather the pieces
// (transfer/blob_download.cpp).
constexpr long kReceiveBufferBytes = 1024 * 1024;

// A long body's receive wakeups, paced (pace_receiving below). libcurl wakes
// for whatever has arrived: over a slow link that is 70 KB or so a time
// (3,600 receives and 10,000 polls for the wan bench image's 265 MB), each
// wakeup with its share of CPU. The socket's low-water mark (SO_RCVLOWAT)
// makes poll report it readable only once this much is queued:
constexpr int kPacedBytes = 512 * 1024;
// ... or what the body's last rate brings in this long, if less, so a slow
// link still delivers often;
constexpr auto kPaceWindow = std::chrono::milliseconds(100);
// ... and never within this many bytes of the body's end, so the mark never
// waits for bytes that are not coming. It also covers a TLS record the TLS
// library has read in part (the socket then holds less than the body has
// left; a record is at most 16 KiB and some bytes).
constexpr curl_off_t kPaceSlack = 64 * 1024;

// What one transfer collects while libcurl runs its callbacks.
struct Exchange {
  CURL* curl = nullptr;
  const BodySink* sink = nullptr;  // null: buffer every body
  const std::atomic<bool>* abort = nullptr;
  // The stall check: no byte moved either way for `stall_limit` (0: none).
  std::chrono::steady_clock::duration stall_limit{};
  std::chrono::steady_clock::time_point last_moved = std::chrono::steady_clock::now();
  curl_off_t bytes_moved = 0;
  bool stalled = false;
  std::size_t max_buffered = 0;
  Response response;
  bool body_started = false;
  bool over_cap = false;
  bool aborted_by_sink = false;
  std::exception_ptr sink_error;
  // A body made as it is sent (Request::body_source), and how far it got.
  const BodySource* body_source = nullptr;
  std::size_t body_sent = 0;
  std::exception_ptr source_error;
  // Pacing a streamed body's wakeups: decided at its first bytes.
  CurlSockets* sockets = nullptr;
  bool pacing_decided = false;
  curl_socket_t paced_socket = CURL_SOCKET_BAD;
  int low_water = 1;  // the socket's SO_RCVLOWAT as set here (1: the default)
  curl_off_t body_length = -1;
  curl_off_t body_received = 0;
  std::chrono::steady_clock::time_point body_began{};
  std::chrono::steady_clock::time_point body_last{};

  bool streams() const { return sink != nullptr && response.status / 100 == 2; }
};

// A header line as curl hands it over, without its blanks and line end.
std::string_view trim(std::string_view line) { return text::trim(line, " \t\r\n"); }

// "HTTP/1.1 200 OK" or "HTTP/2 200": the status code, or 0.
int parse_status_line(std::string_view line) {
  auto space = line.find(' ');
  if (space == std::string_view::npos) return 0;
  line.remove_prefix(space + 1);
  int status = 0;
  std::from_chars(line.data(), line.data() + line.size(), status);
  return status;
}

void set_low_water(Exchange& exchange, int bytes) {
  if (bytes == exchange.low_water || exchange.paced_socket == CURL_SOCKET_BAD) return;
  // Only a hint: on failure the socket wakes as before.
  ::setsockopt(exchange.paced_socket, SOL_SOCKET, SO_RCVLOWAT, &bytes, sizeof bytes);
  exchange.low_water = bytes;
}

// After each piece of a streamed HTTP/1.x body of known length, sets its
// socket's low-water mark (kPacedBytes above) for the rest. Over loopback
// nothing changes (a receive brings up to libcurl's 1 MiB buffer anyway);
// over the wan bench link a pull's receives drop from 3,600 to about 700 and
// its CPU by a tenth (docs/performance.md, 2026-12-05). HTTP/2 is left alone:
// its streams share one socket.
void pace_receiving(Exchange& exchange, std::size_t bytes) {
  const auto now = std::chrono::steady_clock::now();
  if (!exchange.pacing_decided) {
    exchange.pacing_decided = true;
    long version = 0;
    curl_easy_getinfo(exchange.curl, CURLINFO_HTTP_VERSION, &version);
    curl_easy_getinfo(exchange.curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &exchange.body_length);
    if ((version != CURL_HTTP_VERSION_1_0 && version != CURL_HTTP_VERSION_1_1) ||
        exchange.body_length < kPacedBytes) {
      return;
    }
    exchange.paced_socket = exchange.sockets->find(exchange.curl);
    exchange.body_began = now;
  }
  if (exchange.paced_socket == CURL_SOCKET_BAD) return;
  exchange.body_received += static_cast<curl_off_t>(bytes);
  exchange.body_last = now;
  const double seconds =
      std::max(std::chrono::duration<double>(now - exchange.body_began).count(), 1e-3);
  const auto window = std::chrono::duration<double>(kPaceWindow).count();
  const auto by_rate =
      static_cast<curl_off_t>(static_cast<double>(exchange.body_received) / seconds * window);
  // A power of two from kPaceSlack up, so the mark changes only a few times a
  // body; none below that, nor for the body's last bytes.
  int mark = kPacedBytes;
  while (mark > by_rate && mark > kPaceSlack) mark /= 2;
  if (mark <= kPaceSlack || exchange.body_length - exchange.body_received - kPaceSlack < mark) {
    mark = 1;
  }
  set_low_water(exchange, mark);
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto& exchange = *static_cast<Exchange*>(user);
  std::string_view raw(data, size * count);
  std::string_view line = trim(raw);
  if (line.starts_with("HTTP/")) {
    // A new response starts: an interim 100 Continue or a proxy's CONNECT
    // answer came before it, and their headers are not this response's.
    exchange.response.status = parse_status_line(line);
    exchange.response.headers.clear();
  } else if (!raw.empty() && (raw.front() == ' ' || raw.front() == '\t') &&
             !exchange.response.headers.empty() && !line.empty()) {
    // Obsolete line folding (RFC 9112 5.2): continues the previous value.
    exchange.response.headers.back().second.append(" ").append(line);
  } else if (auto colon = line.find(':'); colon != std::string_view::npos) {
    exchange.response.headers.emplace_back(std::string(trim(line.substr(0, colon))),
                                           std::string(trim(line.substr(colon + 1))));
  }
  return size * count;
}

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto& exchange = *static_cast<Exchange*>(user);
  const size_t bytes = size * count;
  if (exchange.streams()) {
    try {
      if (!(*exchange.sink)(std::string_view(data, bytes))) {
        exchange.aborted_by_sink = true;
        return 0;
      }
      pace_receiving(exchange, bytes);
    } catch (...) {
      // An exception may not unwind through libcurl's C frames.
      exchange.sink_error = std::current_exception();
      return 0;
    }
    return bytes;
  }
  if (!exchange.body_started) {
    exchange.body_started = true;
    curl_off_t announced = -1;
    curl_easy_getinfo(exchange.curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &announced);
    if (announced > 0) {
      if (static_cast<std::size_t>(announced) > exchange.max_buffered) {
        exchange.over_cap = true;
        return 0;
      }
      exchange.response.body.reserve(static_cast<std::size_t>(announced));
    }
  }
  if (exchange.response.body.size() + bytes > exchange.max_buffered) {
    exchange.over_cap = true;
    return 0;
  }
  exchange.response.body.append(data, bytes);
  return bytes;
}

// Hands libcurl the next bytes of a body made as it is sent, straight into
// its upload buffer.
size_t on_body_read(char* buffer, size_t size, size_t count, void* user) {
  auto& exchange = *static_cast<Exchange*>(user);
  const std::size_t n = std::min(size * count, exchange.body_source->size() - exchange.body_sent);
  try {
    exchange.body_source->read_at(exchange.body_sent, std::span<char>(buffer, n));
  } catch (...) {
    exchange.source_error = std::current_exception();
    return CURL_READFUNC_ABORT;
  }
  exchange.body_sent += n;
  return n;
}

// libcurl rewinds a body it must send again (a redirect, a connection found
// dead as the request started).
int on_body_seek(void* user, curl_off_t offset, int origin) {
  auto& exchange = *static_cast<Exchange*>(user);
  if (origin != SEEK_SET || offset < 0 ||
      static_cast<std::size_t>(offset) > exchange.body_source->size()) {
    return CURL_SEEKFUNC_FAIL;
  }
  exchange.body_sent = static_cast<std::size_t>(offset);
  return CURL_SEEKFUNC_OK;
}

// libcurl's progress callback, called many times a second while data moves
// and at least once a second while the connection is idle: a non-zero return
// aborts the transfer with CURLE_ABORTED_BY_CALLBACK. It stops a request the
// caller cancelled, and one that moved no byte either way for the stall
// limit (libcurl's own low-speed check averages over the last five seconds
// or so, which makes a 2 s limit fire after 7).
int on_progress(void* user, curl_off_t, curl_off_t downloaded, curl_off_t, curl_off_t uploaded) {
  auto& exchange = *static_cast<Exchange*>(user);
  if (exchange.abort != nullptr && exchange.abort->load()) return 1;
  const auto now = std::chrono::steady_clock::now();
  const curl_off_t moved = downloaded + uploaded;
  if (exchange.low_water > 1 && now - exchange.body_last >= 2 * kPaceWindow) {
    // The link slowed: bytes may be waiting under the mark. The rest of the
    // body is received unpaced, and the stall counted from now, as the mark
    // held those bytes back.
    set_low_water(exchange, 1);
    exchange.paced_socket = CURL_SOCKET_BAD;
    exchange.last_moved = now;
  }
  if (moved != exchange.bytes_moved) {
    exchange.bytes_moved = moved;
    exchange.last_moved = now;
  } else if (exchange.stall_limit.count() > 0 &&
             now - exchange.last_moved >= exchange.stall_limit) {
    exchange.stalled = true;
    return 1;
  }
  return 0;
}

// Without a query string: a pre-signed URL's query carries a signature that
// must not end up in logs and error messages.
std::string_view url_for_messages(std::string_view url) { return url.substr(0, url.find('?')); }

bool method_sends_body(const Request& request) {
  return !request.body.empty() || request.body_source != nullptr || request.method == "POST" ||
         request.method == "PUT" || request.method == "PATCH";
}

bool is_content_length(std::string_view name) {
  constexpr std::string_view kName = "content-length";
  if (name.size() != kName.size()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(name[i])) != kName[i]) return false;
  }
  return true;
}

HeaderList build_header_list(const Request& request) {
  curl_slist* list = nullptr;
  auto append = [&list](const std::string& line) {
    curl_slist* grown = curl_slist_append(list, line.c_str());
    if (grown == nullptr) {
      curl_slist_free_all(list);
      throw std::bad_alloc();
    }
    list = grown;
  };
  for (const auto& [name, value] : request.headers) {
    // libcurl derives the length from the body; a second one would conflict.
    if (is_content_length(name)) continue;
    // "Name;" is libcurl's way of sending a header with an empty value.
    append(value.empty() ? name + ";" : name + ": " + value);
  }
  // Waiting for "100 Continue" costs a round trip (or a 1 s stall against
  // servers that never send it) on every part upload.
  append("Expect:");
  if (method_sends_body(request) && !find_header(request.headers, "content-type")) {
    // Otherwise libcurl labels every body application/x-www-form-urlencoded.
    append("Content-Type:");
  }
  return HeaderList(list);
}

class CurlTransport final : public Transport {
 public:
  explicit CurlTransport(TransportOptions options)
      : options_(std::move(options)), pool_(share_.get()) {}

  Response send(const Request& request) override { return perform(request, nullptr); }
  Response send(const Request& request, const BodySink& sink) override {
    return perform(request, &sink);
  }

 private:
  // Gives the handle back to the pool however the request ends.
  class Borrowed {
   public:
    explicit Borrowed(EasyHandlePool& pool) : pool_(pool), handle_(pool.acquire()) {}
    ~Borrowed() { pool_.release(std::move(handle_)); }
    Borrowed(const Borrowed&) = delete;
    Borrowed& operator=(const Borrowed&) = delete;
    CURL* get() const noexcept { return handle_.get(); }

   private:
    EasyHandlePool& pool_;
    EasyHandle handle_;
  };

  void configure(CURL* curl, const Request& request, const curl_slist* headers, Exchange& exchange,
                 char* error_buffer) const {
    curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
    // Only web URLs: a download URL handed out by a server must not read
    // file:// or talk to other protocols.
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    // Signals are not thread-safe; libcurl then relies on its threaded resolver.
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, kUserAgent);
    curl_easy_setopt(curl, CURLOPT_BUFFERSIZE, kReceiveBufferBytes);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(options_.connect_timeout.count()));
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, static_cast<long>(options_.low_speed_bytes));
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME,
                     static_cast<long>(options_.low_speed_time.count()));
    curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, options_.verify_tls ? 1L : 0L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, options_.verify_tls ? 2L : 0L);
    if (!options_.ca_bundle.empty()) {
      curl_easy_setopt(curl, CURLOPT_CAINFO, options_.ca_bundle.c_str());
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &exchange);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &exchange);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, &on_progress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &exchange);
    sockets_.track(curl);
    exchange.sockets = &sockets_;

    if (request.method == "HEAD") {
      curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    } else if (method_sends_body(request)) {
      const std::size_t size =
          request.body_source != nullptr ? request.body_source->size() : request.body.size();
      curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(size));
      if (request.body_source != nullptr) {
        // Without POSTFIELDS libcurl asks the read callback for the body.
        curl_easy_setopt(curl, CURLOPT_POST, 1L);
        curl_easy_setopt(curl, CURLOPT_READFUNCTION, &on_body_read);
        curl_easy_setopt(curl, CURLOPT_READDATA, &exchange);
        curl_easy_setopt(curl, CURLOPT_SEEKFUNCTION, &on_body_seek);
        curl_easy_setopt(curl, CURLOPT_SEEKDATA, &exchange);
        exchange.body_source = request.body_source;
      } else {
        // POSTFIELDS does not copy: libcurl reads the caller's buffer, which
        // Request requires to outlive the call.
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.empty() ? "" : request.body.data());
      }
      // libcurl sends a body through its upload buffer, 64 KiB by default:
      // 210 send() calls for a 13 MB UploadLayerPart body. A large body goes
      // in 1 MiB steps. A non-POST method keeps the body.
      curl_easy_setopt(curl, CURLOPT_UPLOAD_BUFFERSIZE,
                       size >= kLargeBodyBytes ? kLargeBodyBytes : 65536L);
      if (request.method != "POST") {
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
      }
    } else if (request.method != "GET") {
      curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    }
  }

  bool aborted() const noexcept { return options_.abort != nullptr && options_.abort->load(); }

  Response perform(const Request& request, const BodySink* sink) {
    const std::string where =
        " (" + request.method + " " + std::string(url_for_messages(request.url)) + ")";
    // Not even a connection for a request that would be aborted anyway.
    if (aborted()) throw RequestAborted("request aborted before it started" + where);
    Borrowed handle(pool_);
    char error_buffer[CURL_ERROR_SIZE] = {};
    HeaderList headers = build_header_list(request);
    Exchange exchange;
    exchange.curl = handle.get();
    exchange.sink = sink;
    exchange.max_buffered = options_.max_response_bytes;
    exchange.abort = options_.abort;
    exchange.stall_limit = options_.low_speed_time;
    configure(handle.get(), request, headers.get(), exchange, error_buffer);

    CURLcode code = curl_easy_perform(handle.get());
    // A transfer that ended early leaves its connection as it found it.
    set_low_water(exchange, 1);
    if (exchange.sink_error) std::rethrow_exception(exchange.sink_error);
    if (exchange.source_error) std::rethrow_exception(exchange.source_error);
    // Stopped by the progress callback, or by a sink that saw the same flag:
    // the caller asked for it, so say so rather than "write error".
    if ((code == CURLE_ABORTED_BY_CALLBACK || exchange.aborted_by_sink) && aborted()) {
      throw RequestAborted("request aborted" + where);
    }
    if (exchange.stalled) {
      throw TransportError("no byte moved for " + std::to_string(options_.low_speed_time.count()) +
                               " s (the stall timeout)" + where,
                           /*timeout=*/true);
    }
    if (exchange.aborted_by_sink) throw TransportError("aborted by sink" + where);
    if (exchange.over_cap) {
      throw TransportError("response body larger than " +
                           std::to_string(options_.max_response_bytes) + " bytes" + where);
    }
    if (code != CURLE_OK) {
      std::string reason = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(code);
      throw TransportError(reason + where, code == CURLE_OPERATION_TIMEDOUT);
    }
    long status = 0;
    curl_easy_getinfo(handle.get(), CURLINFO_RESPONSE_CODE, &status);
    exchange.response.status = static_cast<int>(status);
    return std::move(exchange.response);
  }

  TransportOptions options_;
  // Declared before the pool: the pooled handles are attached to the share,
  // so they must be cleaned up first.
  CurlShare share_;
  // Before the pool too: the handles' sockets are recorded here. Thread-safe,
  // and filled as requests go (so mutable: configure() is const).
  mutable CurlSockets sockets_;
  EasyHandlePool pool_;
};

void validate(const TransportOptions& options) {
  if (options.connect_timeout.count() <= 0) {
    throw InputError("transport connect_timeout must be positive");
  }
  if (options.low_speed_bytes < 0 || options.low_speed_time.count() < 0) {
    throw InputError("transport low-speed limits must not be negative");
  }
  if (options.max_response_bytes == 0) {
    throw InputError("transport max_response_bytes must be positive");
  }
}

}  // namespace

std::shared_ptr<Transport> make_curl_transport(const TransportOptions& options) {
  validate(options);
  ensure_curl_initialised();
  return std::make_shared<CurlTransport>(options);
}

}  // namespace ecr::http
