// A job's files under --data-dir: jobs/<id>/image, jobs/<id>/audio, jobs/<id>/audio2 (a second speaker's;
// all as the client sent them) and
// jobs/<id>/video.mp4 (the result). Every file is written to a temporary name, synced and renamed, so a
// crash leaves either the whole file or none. The names are fixed here: a client never names a path.
// Users' media is this account's only: folders 0700, files 0600.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace talkgen::server {

class JobFiles {
 public:
  /// Creates `data_dir/jobs` (0700) when missing. Error(io_error) when it cannot.
  explicit JobFiles(std::string data_dir);

  std::string folder(const std::string& id) const;
  std::string image_path(const std::string& id) const;
  std::string audio_path(const std::string& id) const;
  std::string audio2_path(const std::string& id) const;
  std::string video_path(const std::string& id) const;

  /// Creates the job's folder and writes its inputs (audio may be empty: a text job; audio2 is empty for
  /// one speaker). On failure (a full disk) nothing of the job is left behind and Error(io_error) says why.
  void write_inputs(const std::string& id, const std::vector<std::uint8_t>& image,
                    const std::vector<std::uint8_t>& audio, const std::vector<std::uint8_t>& audio2 = {}) const;
  /// Makes the video the encoder published durable and private: fsync()ed, 0600, its folder synced.
  /// Error(io_error) when it is missing or cannot be synced.
  void finalize_video(const std::string& id) const;
  /// Removes the job's folder and everything in it (missing is fine).
  void remove(const std::string& id) const;
  /// The ids that have a folder.
  std::vector<std::string> ids() const;
  /// Deletes what killed writes leave in job folders: the atomic writer's "<name>.tmp.<pid>.<n>" and the
  /// encoder's ".<name>.<hex>.tmp". Call at start, before any job runs. Returns how many were removed.
  int remove_temporary_files() const;

 private:
  std::string root_;  // data_dir/jobs
};

}  // namespace talkgen::server
