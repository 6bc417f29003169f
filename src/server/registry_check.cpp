// ecr-local check: the root's files and metadata against each other, read
// only (registry_check.hpp).
#include "server/registry_check.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <system_error>
#include <tuple>

#include "core/file.hpp"
#include "ecr/digest.hpp"
#include "ecr/error.hpp"
#include "ecr/manifest.hpp"
#include "server/blob_store.hpp"
#include "server/registry.hpp"
#include "server/sqlite.hpp"

namespace ecr::server {
namespace {

namespace fs = std::filesystem;
using Kind = CheckFinding::Kind;

std::string_view kind_name(Kind kind) {
  switch (kind) {
    case Kind::kDamaged:
      return "damaged";
    case Kind::kMissing:
      return "missing";
    case Kind::kInvalid:
      return "invalid";
    case Kind::kDatabase:
      return "database";
    case Kind::kUnknown:
      return "unknown";
    case Kind::kLeftover:
      return "leftover";
  }
  return "unknown";
}

std::string plural(std::size_t n, std::string_view one, std::string_view many) {
  return std::to_string(n) + " " + std::string(n == 1 ? one : many);
}

class RootCheck {
 public:
  explicit RootCheck(fs::path root) : root_(std::move(root)) {}

  CheckReport run() {
    if (!fs::is_regular_file(root_ / "metadata.db")) {
      throw InputError(root_.string() + " is not an ecr-local root: it has no metadata.db");
    }
    sql::Database db((root_ / "metadata.db").string());
    check_database(db);
    load_repositories(db);
    check_blob_files();
    load_sessions(db);
    check_layer_rows(db);
    check_images(db);
    check_uploads();
    std::sort(report_.findings.begin(), report_.findings.end(),
              [](const CheckFinding& a, const CheckFinding& b) {
                return std::tie(a.kind, a.text) < std::tie(b.kind, b.text);
              });
    return std::move(report_);
  }

 private:
  void add(Kind kind, std::string text) { report_.findings.push_back({kind, std::move(text)}); }

  std::string repository_name(std::int64_t id) const {
    auto it = repositories_.find(id);
    return it == repositories_.end() ? "#" + std::to_string(id) : it->second;
  }

  void check_database(sql::Database& db) {
    sql::Statement quick(db, "PRAGMA quick_check");
    while (quick.step()) {
      if (quick.text(0) != "ok") add(Kind::kDatabase, "metadata.db: " + quick.text(0));
    }
    sql::Statement keys(db, "PRAGMA foreign_key_check");
    while (keys.step()) {
      add(Kind::kDatabase, "metadata.db: row " + std::to_string(keys.integer(1)) + " of " +
                               keys.text(0) + " names a " + keys.text(2) +
                               " row that does not exist");
    }
  }

  void load_repositories(sql::Database& db) {
    sql::Statement s(db, "SELECT id, name FROM repositories");
    while (s.step()) repositories_[s.integer(0)] = s.text(1);
  }

  // Every file of blobs/sha256: a blob hashing to its name, or a temp file
  // of a commit a crash cut short.
  void check_blob_files() {
    const fs::path dir = root_ / "blobs" / "sha256";
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      const std::string name = it->path().filename().string();
      const std::string shown = "blobs/sha256/" + name;
      if (name.find(".tmp") != std::string::npos) {
        add(Kind::kLeftover, "temp file " + shown + " (the next start removes it)");
        continue;
      }
      if (!Digest::valid("sha256:" + name) || !it->is_regular_file()) {
        add(Kind::kUnknown, shown + ": not a blob ecr-local wrote");
        continue;
      }
      const Digest named = Digest::parse("sha256:" + name);
      const UniqueFd fd = open_regular_file(it->path());
      const FileDigest found = hash_file(fd.get(), it->path());
      ++report_.blobs;
      files_[named] = found.size;
      if (found.digest != named) {
        add(Kind::kDamaged, "blob " + named.str() + ": its " + std::to_string(found.size) +
                                " bytes hash to " + found.digest.str());
      }
    }
    if (ec) throw InputError("cannot list " + dir.string() + ": " + ec.message());
  }

  // Each layer a repository holds has its file, of the size recorded; each
  // file is held by some repository, or garbage collection removes it.
  void check_layer_rows(sql::Database& db) {
    std::set<Digest> held;
    sql::Statement s(db, "SELECT repo_id, digest, size FROM repository_blobs ORDER BY digest");
    while (s.step()) {
      const std::string repository = repository_name(s.integer(0));
      const std::string digest = s.text(1);
      if (!Digest::valid(digest)) {
        add(Kind::kInvalid,
            "layer '" + digest + "' of repository " + repository + ": not a sha256 digest");
        continue;
      }
      const Digest d = Digest::parse(digest);
      held.insert(d);
      const auto file = files_.find(d);
      if (file == files_.end()) {
        add(Kind::kMissing, "blob " + digest + ": a layer of repository " + repository +
                                ", without its file blobs/sha256/" + std::string(d.hex()));
      } else if (static_cast<std::int64_t>(file->second) != s.integer(2)) {
        add(Kind::kDamaged, "blob " + digest + ": " + std::to_string(file->second) +
                                " bytes on disk, repository " + repository + " recorded " +
                                std::to_string(s.integer(2)));
      }
    }
    for (const auto& [digest, size] : files_) {
      if (held.contains(digest)) continue;
      if (claimable_sizes_.contains(size)) {
        add(Kind::kLeftover, "blob " + digest.str() + " (" + std::to_string(size) +
                                 " bytes) that no repository holds yet: an upload session of "
                                 "its size may claim it (a retried CompleteLayerUpload)");
      } else {
        add(Kind::kLeftover, "blob " + digest.str() + " (" + std::to_string(size) +
                                 " bytes) that no repository holds (gc removes it)");
      }
    }
  }

  // Each image: its manifest hashes to its digest and parses; the layers it
  // names are held by its repository and recorded as referenced (else
  // garbage collection would drop them under it); the manifests an index
  // names are images of the repository.
  void check_images(sql::Database& db) {
    std::set<std::tuple<std::int64_t, std::string, std::string>> referenced;
    {
      sql::Statement s(db, "SELECT repo_id, image_digest, blob_digest FROM image_blobs");
      while (s.step()) referenced.emplace(s.integer(0), s.text(1), s.text(2));
    }
    std::set<std::pair<std::int64_t, std::string>> layers, images;
    {
      sql::Statement s(db, "SELECT repo_id, digest FROM repository_blobs");
      while (s.step()) layers.emplace(s.integer(0), s.text(1));
    }
    {
      sql::Statement s(db, "SELECT repo_id, digest FROM images");
      while (s.step()) images.emplace(s.integer(0), s.text(1));
    }
    sql::Statement s(db,
                     "SELECT repo_id, digest, manifest, media_type FROM images "
                     "ORDER BY repo_id, digest");
    while (s.step()) {
      ++report_.images;
      const std::int64_t repo = s.integer(0);
      const std::string digest = s.text(1);
      const std::string manifest = s.blob(2);
      const std::string image = "image " + repository_name(repo) + "@" + digest;
      const Digest actual = Digest::of(manifest);
      if (actual.str() != digest) {
        add(Kind::kInvalid, image + ": its manifest hashes to " + actual.str());
      }
      ManifestFacts facts;
      try {
        facts = facts_of(parse_manifest(manifest, s.text(3)));
      } catch (const InputError& e) {
        add(Kind::kInvalid, image + ": its manifest does not parse: " + e.what());
        continue;
      }
      for (const auto& blob : facts.blobs) {
        if (!layers.contains({repo, blob.digest})) {
          add(Kind::kMissing,
              "blob " + blob.digest + ": " + image + " names it, its repository does not hold it");
        } else if (!referenced.contains({repo, digest, blob.digest})) {
          add(Kind::kInvalid, image + ": names blob " + blob.digest +
                                  " without recording it (gc would drop the layer)");
        }
      }
      for (const auto& child : facts.children) {
        if (!images.contains({repo, child})) {
          add(Kind::kMissing,
              "image " + repository_name(repo) + "@" + child + ": " + image + " names it");
        }
      }
    }
  }

  struct Session {
    std::string repository;
    std::int64_t received = 0;
    std::optional<std::uint64_t> file_size;  // nullopt: no upload file
  };

  // The upload sessions and their files. A session whose bytes are in and
  // whose file is gone was killed completing: its file became its blob (or
  // was dropped for the blob already there), and the blob, of the size the
  // session received, waits for the retried CompleteLayerUpload.
  void load_sessions(sql::Database& db) {
    sql::Statement s(db, "SELECT upload_id, repo_id, received FROM uploads ORDER BY upload_id");
    while (s.step()) {
      Session session{repository_name(s.integer(1)), s.integer(2), std::nullopt};
      std::error_code ec;
      const auto size = fs::file_size(root_ / "uploads" / s.text(0), ec);
      if (!ec) session.file_size = size;
      if (!session.file_size && session.received > 0) {
        claimable_sizes_.insert(static_cast<std::uint64_t>(session.received));
      }
      sessions_.emplace(s.text(0), std::move(session));
    }
  }

  // Each upload session's acknowledged bytes are on disk, or became a blob;
  // each upload file has a session.
  void check_uploads() {
    std::set<std::uint64_t> blob_sizes;
    for (const auto& [digest, size] : files_) blob_sizes.insert(size);
    for (const auto& [id, session] : sessions_) {
      ++report_.uploads;
      const std::string received = std::to_string(session.received) + " bytes";
      if (!is_upload_id(id)) {
        add(Kind::kInvalid, "upload session '" + id + "': not an upload id");
      } else if (!session.file_size && session.received > 0) {
        if (blob_sizes.contains(static_cast<std::uint64_t>(session.received))) {
          add(Kind::kLeftover, "upload session " + id + " (repository " + session.repository +
                                   ") of " + received +
                                   ": its completion was cut short after its blob was committed "
                                   "(a retried CompleteLayerUpload finishes it)");
        } else {
          add(Kind::kMissing, "upload file uploads/" + id + ": the session (repository " +
                                  session.repository + ") has received " + received);
        }
      } else if (session.file_size &&
                 static_cast<std::int64_t>(*session.file_size) < session.received) {
        add(Kind::kDamaged, "upload file uploads/" + id + ": " +
                                std::to_string(*session.file_size) +
                                " bytes, the session (repository " + session.repository +
                                ") has received " + received);
      }
    }
    const fs::path dir = root_ / "uploads";
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      const std::string name = it->path().filename().string();
      if (!sessions_.contains(name)) {
        add(Kind::kLeftover,
            "upload file uploads/" + name + " without a session (the next start removes it)");
      }
    }
    if (ec && ec != std::errc::no_such_file_or_directory) {
      throw InputError("cannot list " + dir.string() + ": " + ec.message());
    }
  }

  fs::path root_;
  CheckReport report_;
  std::map<std::int64_t, std::string> repositories_;
  std::map<Digest, std::uint64_t> files_;  // blob files named by a digest: their sizes
  std::map<std::string, Session> sessions_;
  std::set<std::uint64_t> claimable_sizes_;  // of sessions killed completing
};

}  // namespace

std::size_t CheckReport::problems() const {
  return static_cast<std::size_t>(
      std::count_if(findings.begin(), findings.end(),
                    [](const CheckFinding& f) { return f.kind != Kind::kLeftover; }));
}

CheckReport check_root(const fs::path& root) { return RootCheck(root).run(); }

std::string to_string(const CheckFinding& finding) {
  return std::string(kind_name(finding.kind)) + ": " + finding.text;
}

std::string check_summary(const CheckReport& report) {
  std::string out = "checked " + plural(report.blobs, "blob", "blobs") + ", " +
                    plural(report.images, "image", "images") + ", " +
                    plural(report.uploads, "upload session", "upload sessions") + ": ";
  if (report.problems() == 0) {
    out += "consistent";
  } else {
    std::map<Kind, std::size_t> by_kind;
    for (const auto& f : report.findings) {
      if (f.kind != Kind::kLeftover) ++by_kind[f.kind];
    }
    out += plural(report.problems(), "problem", "problems") + " (";
    bool first = true;
    for (const auto& [kind, n] : by_kind) {
      out += (first ? "" : ", ") + std::to_string(n) + " " + std::string(kind_name(kind));
      first = false;
    }
    out += ")";
  }
  if (report.leftovers() > 0) {
    out += "; " + plural(report.leftovers(), "leftover", "leftovers") +
           ", removed by the next start or gc";
  }
  return out;
}

}  // namespace ecr::server
