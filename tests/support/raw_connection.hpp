// One client connection to a loopback port speaking HTTP/1.1 by hand, for
// tests that need the bytes on the wire to be exactly the ones they write:
// malformed and oversized requests, bodies cut short, pipelining.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace ecr::testing {

struct RawResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lowercased
  std::string body;
};

class RawConnection {
 public:
  // Connects to 127.0.0.1:`port`; reads wait at most `read_timeout`.
  explicit RawConnection(int port, std::chrono::seconds read_timeout = std::chrono::seconds(20));
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return connected_; }
  // The socket, for a test that speaks another protocol over it (TLS).
  int fd() const { return fd_; }

  // Sends all of `bytes`; false when the connection refuses them.
  bool send(std::string_view bytes);
  // Ends the sending side (the server reads end of stream).
  void end_sending();

  // Reads whatever has arrived (waiting for some); the bytes are dropped.
  std::size_t read_some();

  // The next response (an interim 1xx one too, with no body), or nullopt
  // when the connection ends (or stays silent for the read timeout) before
  // a whole one arrived.
  std::optional<RawResponse> read_response();

  // True when the server closed the connection (reads end) within the read
  // timeout, with no more response bytes.
  bool closed_by_server();

 private:
  bool fill();

  int fd_;
  bool connected_ = false;
  std::string pending_;
};

}  // namespace ecr::testing
