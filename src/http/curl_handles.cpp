#include "http/curl_handles.hpp"

#include <mutex>
#include <new>
#include <string>

#include "ecr/error.hpp"

namespace ecr::http {

void ensure_curl_initialised() {
  static std::once_flag once;
  std::call_once(once, [] {
    CURLcode code = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (code != CURLE_OK) {
      throw TransportError(std::string("curl_global_init failed: ") + curl_easy_strerror(code));
    }
  });
}

CurlShare::CurlShare() : share_(curl_share_init()) {
  if (share_ == nullptr) throw std::bad_alloc();
  curl_share_setopt(share_, CURLSHOPT_LOCKFUNC, &CurlShare::lock);
  curl_share_setopt(share_, CURLSHOPT_UNLOCKFUNC, &CurlShare::unlock);
  curl_share_setopt(share_, CURLSHOPT_USERDATA, this);
  curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
  curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
}

CurlShare::~CurlShare() { curl_share_cleanup(share_); }

std::mutex& CurlShare::mutex_for(curl_lock_data data) {
  auto index = static_cast<std::size_t>(data);
  return mutexes_[index < mutexes_.size() ? index : 0];
}

void CurlShare::lock(CURL*, curl_lock_data data, curl_lock_access, void* self) {
  static_cast<CurlShare*>(self)->mutex_for(data).lock();
}

void CurlShare::unlock(CURL*, curl_lock_data data, void* self) {
  static_cast<CurlShare*>(self)->mutex_for(data).unlock();
}

EasyHandle EasyHandlePool::acquire() {
  {
    std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
      EasyHandle handle = std::move(idle_.back());
      idle_.pop_back();
      return handle;
    }
  }
  EasyHandle handle(curl_easy_init());
  if (!handle) throw std::bad_alloc();
  curl_easy_setopt(handle.get(), CURLOPT_SHARE, share_);
  return handle;
}

void EasyHandlePool::release(EasyHandle handle) {
  // curl_easy_reset drops every option (the share too) but keeps the live
  // connections, which is the point of pooling.
  curl_easy_reset(handle.get());
  std::lock_guard lock(mutex_);
  if (idle_.size() < kMaxIdleHandles) idle_.push_back(std::move(handle));
}

}  // namespace ecr::http
