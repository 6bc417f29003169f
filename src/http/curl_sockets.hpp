// The sockets a CurlTransport's connections use, so that a transfer can find
// its own while it runs (to pace its receive wakeups, curl_transport.cpp).
// libcurl 7.88 (Debian 12's) names a transfer's socket (CURLINFO_ACTIVESOCKET)
// only once the transfer is over, but knows both ends' addresses from the
// moment it connects. Every socket the transport's handles open is recorded
// here (CURLOPT_SOCKOPTFUNCTION), and a transfer picks the one whose two ends
// are its connection's. Internal to src/http.
#pragma once

#include <curl/curl.h>

#include <mutex>
#include <vector>

namespace ecr::http {

class CurlSockets {
 public:
  // Has the sockets `curl` opens from now on recorded here. Set again for
  // every request: curl_easy_reset drops the option.
  void track(CURL* curl);
  // The socket `curl`'s transfer is on, or CURL_SOCKET_BAD when it is not
  // one recorded here. Forgets recorded sockets that are closed.
  curl_socket_t find(CURL* curl);

 private:
  static int on_sockopt(void* self, curl_socket_t socket, curlsocktype purpose);

  std::mutex mutex_;
  // Closed ones stay until a find() (at most one entry per descriptor
  // number: a number the kernel hands out again is not added twice).
  std::vector<curl_socket_t> sockets_;
};

}  // namespace ecr::http
