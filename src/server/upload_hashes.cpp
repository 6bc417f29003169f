#include "server/upload_hashes.hpp"

#include <utility>

namespace ecr::server {

void UploadHashes::add(const std::string& upload_id, std::uint64_t offset,
                       std::string_view bytes) noexcept {
  std::optional<Sha256Lane> hash = take_at(upload_id, offset);
  if (!hash) return;
  try {
    hash->update(bytes.data(), bytes.size());
  } catch (...) {
    return;  // dropped: completion hashes the file
  }
  put_back(upload_id, std::move(*hash));
}

std::optional<Sha256Lane> UploadHashes::take_at(const std::string& upload_id,
                                                std::uint64_t offset) noexcept {
  try {
    // The hash leaves the map while it is fed, so hashing a 20 MiB part
    // never holds up other uploads; parts of one upload are serialised by
    // the caller.
    std::optional<Sha256Lane> hash;
    {
      std::lock_guard lock(mu_);
      auto it = hashes_.find(upload_id);
      if (it != hashes_.end()) {
        if (it->second.size() == offset) hash = std::move(it->second);
        hashes_.erase(it);
      }
    }
    if (offset == 0) hash.emplace();
    return hash;
  } catch (...) {
    forget(upload_id);
    return std::nullopt;
  }
}

std::optional<Sha256Lane> UploadHashes::take_if_at(const std::string& upload_id,
                                                   std::uint64_t offset) noexcept {
  try {
    if (offset == 0) return Sha256Lane();
    std::lock_guard lock(mu_);
    auto it = hashes_.find(upload_id);
    if (it == hashes_.end() || it->second.size() != offset) return std::nullopt;
    std::optional<Sha256Lane> hash = std::move(it->second);
    hashes_.erase(it);
    return hash;
  } catch (...) {
    return std::nullopt;
  }
}

void UploadHashes::put_back(const std::string& upload_id, Sha256Lane hash) noexcept {
  try {
    std::lock_guard lock(mu_);
    hashes_.insert_or_assign(upload_id, std::move(hash));
  } catch (...) {
    forget(upload_id);
  }
}

std::optional<Digest> UploadHashes::take(const std::string& upload_id,
                                         std::uint64_t size) noexcept {
  try {
    std::optional<Sha256Lane> hash;
    {
      std::lock_guard lock(mu_);
      auto it = hashes_.find(upload_id);
      if (it == hashes_.end()) return std::nullopt;
      hash = std::move(it->second);
      hashes_.erase(it);
    }
    if (hash->size() != size) return std::nullopt;
    return hash->finish();
  } catch (...) {
    return std::nullopt;
  }
}

void UploadHashes::forget(const std::string& upload_id) noexcept {
  try {
    std::lock_guard lock(mu_);
    hashes_.erase(upload_id);
  } catch (...) {
    // std::mutex::lock only throws on a broken system; the hash then stays
    // and is dropped by the next add() or take().
  }
}

std::size_t UploadHashes::size() const {
  std::lock_guard lock(mu_);
  return hashes_.size();
}

}  // namespace ecr::server
