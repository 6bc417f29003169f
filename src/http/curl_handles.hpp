// RAII owners for libcurl's handles and the pool that lets connections live
// across requests. Internal to src/http.
#pragma once

#include <curl/curl.h>

#include <array>
#include <memory>
#include <mutex>
#include <vector>

namespace ecr::http {

// Calls curl_global_init exactly once per process, whichever thread gets here
// first. Never undone: curl_global_cleanup at exit would race with handles
// other static objects may still own, and the OS reclaims everything anyway.
void ensure_curl_initialised();

struct EasyHandleDeleter {
  void operator()(CURL* handle) const noexcept { curl_easy_cleanup(handle); }
};
using EasyHandle = std::unique_ptr<CURL, EasyHandleDeleter>;

struct HeaderListDeleter {
  void operator()(curl_slist* list) const noexcept { curl_slist_free_all(list); }
};
using HeaderList = std::unique_ptr<curl_slist, HeaderListDeleter>;

// A share of the DNS and TLS session caches between all easy handles of one
// transport, so a fresh handle (a burst of parallel requests) skips the lookup
// and the full TLS handshake. Connections themselves stay per handle: sharing
// the connection cache between threads is not safe in libcurl 7.88.
class CurlShare {
 public:
  CurlShare();
  ~CurlShare();
  CurlShare(const CurlShare&) = delete;
  CurlShare& operator=(const CurlShare&) = delete;

  CURLSH* get() const noexcept { return share_; }

 private:
  static void lock(CURL*, curl_lock_data data, curl_lock_access, void* self);
  static void unlock(CURL*, curl_lock_data data, void* self);
  std::mutex& mutex_for(curl_lock_data data);

  CURLSH* share_;
  // One mutex per lockable data kind (curl_lock_data has fewer than 16).
  std::array<std::mutex, 16> mutexes_;
};

// Idle easy handles, each holding its live (keep-alive) connections. A request
// borrows one and gives it back, so consecutive requests to the same host
// reuse a connection instead of reconnecting.
class EasyHandlePool {
 public:
  explicit EasyHandlePool(CURLSH* share) : share_(share) {}

  // An idle handle, or a new one attached to the share. Options are at
  // libcurl's defaults; live connections and the share survive the reset.
  EasyHandle acquire();
  // Returns `handle` for reuse; beyond kMaxIdleHandles it is closed instead.
  void release(EasyHandle handle);

 private:
  // The highest parallelism the transfer engine uses per host is well below
  // this; more idle handles would only hold sockets open.
  static constexpr std::size_t kMaxIdleHandles = 32;

  CURLSH* share_;
  std::mutex mutex_;
  std::vector<EasyHandle> idle_;
};

}  // namespace ecr::http
