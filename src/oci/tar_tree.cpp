// Indexing a tar archive with libarchive: one pass over the headers records
// where each file's data starts, so blobs are read later with pread.
#include <archive.h>
#include <archive_entry.h>
#include <unistd.h>

#include <vector>

#include "ecr/error.hpp"
#include "oci/file_tree.hpp"

namespace ecr::oci {
namespace {

// Symlink chains longer than this are refused (as the kernel's ELOOP does).
constexpr int kMaxLinkHops = 16;

struct ArchiveReadCloser {
  void operator()(archive* a) const { archive_read_free(a); }
};

// The target of a symlink at `link` (both archive paths), normalized inside
// the archive; InputError when it leaves it.
std::string resolve_symlink(const std::string& link, std::string_view target) {
  if (!target.empty() && target.front() == '/') {
    throw InputError("archive entry \"" + link + "\" is a symlink to an absolute path \"" +
                     std::string(target) + "\"");
  }
  std::vector<std::string> parts;
  auto push_path = [&](std::string_view p, bool drop_last) {
    std::vector<std::string> seg;
    std::size_t start = 0;
    while (start <= p.size()) {
      std::size_t slash = p.find('/', start);
      if (slash == std::string_view::npos) slash = p.size();
      seg.emplace_back(p.substr(start, slash - start));
      start = slash + 1;
    }
    if (drop_last && !seg.empty()) seg.pop_back();
    for (auto& s : seg) {
      if (s.empty() || s == ".") continue;
      if (s == "..") {
        if (parts.empty()) {
          throw InputError("archive entry \"" + link + "\" is a symlink leaving the archive (\"" +
                           std::string(target) + "\")");
        }
        parts.pop_back();
      } else {
        parts.push_back(std::move(s));
      }
    }
  };
  push_path(link, true);
  push_path(target, false);
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : "/") + p;
  return out;
}

std::string archive_message(archive* a) {
  const char* s = archive_error_string(a);
  return s ? s : "unknown error";
}

}  // namespace

TarTree::TarTree(const std::filesystem::path& archive_path, const DecompressionLimits& limits)
    : archive_(archive_path), fd_(open_regular_file(archive_path)) {
  index(limits);
}

TarTree::~TarTree() = default;

void TarTree::index(const DecompressionLimits& limits) {
  std::unique_ptr<archive, ArchiveReadCloser> a(archive_read_new());
  archive_read_support_format_tar(a.get());
  archive_read_support_filter_gzip(a.get());
  archive_read_support_filter_zstd(a.get());
  archive_read_support_filter_xz(a.get());
  archive_read_support_filter_bzip2(a.get());
  const std::int64_t archive_size = oci::file_size(fd_->get());
  // Reads through a dup so libarchive's seeks do not disturb our descriptor.
  UniqueFd reading(::dup(fd_->get()));
  if (reading.get() < 0) throw InputError("cannot read " + archive_.string());
  ::lseek(reading.get(), 0, SEEK_SET);
  if (archive_read_open_fd(a.get(), reading.get(), 64 * 1024) != ARCHIVE_OK) {
    throw InputError(archive_.string() + ": not a tar archive: " + archive_message(a.get()));
  }
  std::uint64_t extracted = 0;
  int staged = 0;
  archive_entry* e = nullptr;
  while (true) {
    const int r = archive_read_next_header(a.get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
      throw InputError(archive_.string() + ": unreadable tar archive: " + archive_message(a.get()));
    }
    const bool compressed = archive_filter_code(a.get(), 0) != ARCHIVE_FILTER_NONE;
    if (compressed && !staging_) staging_ = std::make_unique<StagingDir>(archive_);
    const char* raw_name = archive_entry_pathname(e);
    if (!raw_name) throw InputError(archive_.string() + ": an entry has no name");
    std::string name;
    try {
      name = normalize_relative_path(raw_name);
    } catch (const InputError& err) {
      throw InputError(archive_.string() + ": archive entry \"" + raw_name +
                       "\" is refused: " + err.what());
    }
    if (name.empty()) continue;  // "./" itself

    Entry entry;
    if (const char* hard = archive_entry_hardlink(e)) {
      entry.kind = Entry::kLink;
      try {
        entry.target = normalize_relative_path(hard);
      } catch (const InputError&) {
        throw InputError(archive_.string() + ": archive entry \"" + name +
                         "\" is a hardlink leaving the archive (\"" + hard + "\")");
      }
      add(std::move(name), std::move(entry));
      continue;
    }
    switch (archive_entry_filetype(e)) {
      case AE_IFDIR:
        entry.kind = Entry::kDirectory;
        break;
      case AE_IFLNK: {
        const char* target = archive_entry_symlink(e);
        entry.kind = Entry::kLink;
        entry.target = resolve_symlink(name, target ? target : "");
        break;
      }
      case AE_IFREG: {
        if (archive_entry_sparse_count(e) > 0) {
          throw InputError(archive_.string() + ": archive entry \"" + name +
                           "\" is a sparse file; only regular files are accepted");
        }
        entry.size = archive_entry_size(e);
        if (entry.size < 0) {
          throw InputError(archive_.string() + ": archive entry \"" + name +
                           "\" has a negative size");
        }
        if (!compressed) {
          // After the header, the position in the (unfiltered) stream is where
          // the entry's data begins.
          entry.offset = archive_filter_bytes(a.get(), 0);
          entry.fd = fd_;
          if (entry.offset < 0 || entry.size > archive_size - entry.offset) {
            throw InputError(archive_.string() + ": truncated archive: entry \"" + name +
                             "\" claims " + std::to_string(entry.size) +
                             " bytes past the end of the file");
          }
          break;
        }
        const auto path = staging_->path() / std::to_string(staged++);
        FileWriter out(path);
        std::vector<std::byte> buf(1 << 16);
        while (true) {
          const la_ssize_t n = archive_read_data(a.get(), buf.data(), buf.size());
          if (n < 0) {
            throw InputError(archive_.string() + ": unreadable entry \"" + name +
                             "\": " + archive_message(a.get()));
          }
          if (n == 0) break;
          extracted += static_cast<std::uint64_t>(n);
          const auto consumed = static_cast<std::uint64_t>(archive_filter_bytes(a.get(), -1));
          if (extracted > limits.max_bytes ||
              (extracted > limits.ratio_floor && extracted / (consumed + 1) > limits.max_ratio)) {
            throw InputError(archive_.string() + ": decompression bomb: the archive expands past " +
                             std::to_string(extracted) + " bytes from " + std::to_string(consumed) +
                             " (limits: " + std::to_string(limits.max_bytes) + " bytes, ratio " +
                             std::to_string(limits.max_ratio) + ")");
          }
          out.write(std::span<const std::byte>(buf.data(), static_cast<std::size_t>(n)));
        }
        out.finish();
        entry.fd = open_regular_file(path);
        entry.offset = 0;
        if (oci::file_size(entry.fd->get()) != entry.size) {
          throw InputError(archive_.string() + ": truncated archive: entry \"" + name + "\"");
        }
        break;
      }
      default:
        throw InputError(archive_.string() + ": archive entry \"" + name +
                         "\" is not a regular file, directory or link");
    }
    add(std::move(name), std::move(entry));
  }
  // Every link must land on a file or directory inside the archive.
  for (const auto& [name, entry] : entries_) {
    if (entry.kind == Entry::kLink && !find(name)) {
      throw InputError(archive_.string() + ": archive entry \"" + name + "\" links to \"" +
                       entry.target + "\", which the archive does not hold");
    }
  }
}

void TarTree::add(std::string name, Entry entry) {
  auto it = entries_.find(name);
  if (it == entries_.end()) {
    entries_.emplace(std::move(name), std::move(entry));
    return;
  }
  const Entry& old = it->second;
  const bool same =
      old.kind == entry.kind &&
      (old.kind == Entry::kDirectory || (old.kind == Entry::kLink && old.target == entry.target) ||
       (old.kind == Entry::kFile && same_content(old, entry)));
  if (!same) {
    throw InputError(archive_.string() + ": duplicate archive entry \"" + name +
                     "\" with different content");
  }
}

bool TarTree::same_content(const Entry& a, const Entry& b) {
  if (a.size != b.size) return false;
  auto digest_of = [](const Entry& x) {
    FileRangeStream in(x.fd, x.offset, x.size);
    Sha256 h;
    std::byte buf[65536];
    while (std::size_t n = in.read(buf)) h.update(buf, n);
    return h.finish();
  };
  return digest_of(a) == digest_of(b);
}

const TarTree::Entry* TarTree::find(std::string_view path) const {
  std::string name;
  try {
    name = normalize_relative_path(path);
  } catch (const InputError&) {
    return nullptr;
  }
  for (int hop = 0; hop <= kMaxLinkHops; ++hop) {
    auto it = entries_.find(name);
    if (it == entries_.end()) return nullptr;
    if (it->second.kind != Entry::kLink) return &it->second;
    name = it->second.target;
  }
  return nullptr;
}

bool TarTree::has(std::string_view path) const { return find(path) != nullptr; }

std::optional<std::int64_t> TarTree::file_size(std::string_view path) {
  const Entry* e = find(path);
  if (!e) return std::nullopt;
  if (e->kind != Entry::kFile) {
    throw InputError(archive_.string() + ": \"" + std::string(path) + "\" is not a regular file");
  }
  return e->size;
}

std::unique_ptr<ByteStream> TarTree::open(std::string_view path) {
  if (!file_size(path)) {
    throw InputError(archive_.string() + ": \"" + std::string(path) + "\" is missing");
  }
  const Entry* e = find(path);
  return std::make_unique<FileRangeStream>(e->fd, e->offset, e->size);
}

}  // namespace ecr::oci
