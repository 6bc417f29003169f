#include "http/curl_sockets.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <string>

namespace ecr::http {
namespace {

// One end of a TCP connection, as "address port".
struct End {
  std::string address;
  long port = -1;
  bool operator==(const End&) const = default;
};

// The end `get` (getsockname or getpeername) gives for `socket`; port -1 when
// it is not an IP socket.
template <class Get>
End end_of(curl_socket_t socket, Get get) {
  sockaddr_storage storage{};
  socklen_t length = sizeof storage;
  if (get(socket, reinterpret_cast<sockaddr*>(&storage), &length) != 0) return {};
  char text[INET6_ADDRSTRLEN] = {};
  if (storage.ss_family == AF_INET) {
    const auto& in = reinterpret_cast<const sockaddr_in&>(storage);
    ::inet_ntop(AF_INET, &in.sin_addr, text, sizeof text);
    return {text, ntohs(in.sin_port)};
  }
  if (storage.ss_family == AF_INET6) {
    const auto& in = reinterpret_cast<const sockaddr_in6&>(storage);
    ::inet_ntop(AF_INET6, &in.sin6_addr, text, sizeof text);
    return {text, ntohs(in.sin6_port)};
  }
  return {};
}

}  // namespace

void CurlSockets::track(CURL* curl) {
  curl_easy_setopt(curl, CURLOPT_SOCKOPTFUNCTION, &CurlSockets::on_sockopt);
  curl_easy_setopt(curl, CURLOPT_SOCKOPTDATA, this);
}

int CurlSockets::on_sockopt(void* self, curl_socket_t socket, curlsocktype purpose) {
  if (purpose == CURLSOCKTYPE_IPCXN) {
    auto& sockets = *static_cast<CurlSockets*>(self);
    const std::lock_guard lock(sockets.mutex_);
    // A number libcurl closed and the kernel handed out again.
    if (std::find(sockets.sockets_.begin(), sockets.sockets_.end(), socket) ==
        sockets.sockets_.end()) {
      sockets.sockets_.push_back(socket);
    }
  }
  return CURL_SOCKOPT_OK;
}

curl_socket_t CurlSockets::find(CURL* curl) {
  char* local_ip = nullptr;
  char* primary_ip = nullptr;
  End local;
  End peer;
  if (curl_easy_getinfo(curl, CURLINFO_LOCAL_IP, &local_ip) != CURLE_OK ||
      curl_easy_getinfo(curl, CURLINFO_LOCAL_PORT, &local.port) != CURLE_OK ||
      curl_easy_getinfo(curl, CURLINFO_PRIMARY_IP, &primary_ip) != CURLE_OK ||
      curl_easy_getinfo(curl, CURLINFO_PRIMARY_PORT, &peer.port) != CURLE_OK ||
      local_ip == nullptr || primary_ip == nullptr || local.port <= 0 || peer.port <= 0) {
    return CURL_SOCKET_BAD;
  }
  local.address = local_ip;
  peer.address = primary_ip;
  const std::lock_guard lock(mutex_);
  curl_socket_t found = CURL_SOCKET_BAD;
  // A socket libcurl has closed reads as no IP end (its number may since be
  // another file's, or another socket's, which is then recorded again).
  std::erase_if(sockets_, [&](curl_socket_t socket) {
    const End mine = end_of(socket, ::getsockname);
    if (mine.port < 0) return true;
    if (found == CURL_SOCKET_BAD && mine == local && end_of(socket, ::getpeername) == peer) {
      found = socket;
    }
    return false;
  });
  return found;
}

}  // namespace ecr::http
