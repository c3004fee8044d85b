// The Encoder's memory output: a custom seekable AVIOContext over a growable byte vector.
//
// Why not a temporary file read back at the end: a memory encoder is what callers use when they have
// no writable disk (a server, a sandbox), so it must not touch one. The cost is one hook: movenc's
// faststart pass re-opens the output *by URL* for reading (to move the media data behind the index),
// so the muxer gets io_open / io_close2 callbacks that hand it a reader over the same vector. The
// reader and the writer keep separate positions, exactly as two file handles on one file would.
#include <algorithm>
#include <cstring>

#include "media/encoder_output.hpp"
#include "talkgen/error.hpp"

namespace talkgen::media {
namespace {

constexpr int kAvioBufferSize = 1 << 16;

// FFmpeg 7 (libavformat 61) made the write callback's buffer const.
#if LIBAVFORMAT_VERSION_MAJOR >= 61
using WriteBuffer = const std::uint8_t*;
#else
using WriteBuffer = std::uint8_t*;
#endif

// SEEK_SET / SEEK_CUR / SEEK_END and AVSEEK_SIZE over a buffer of `size` bytes at `pos`.
std::int64_t seek_in(std::int64_t& pos, std::int64_t size, std::int64_t offset, int whence) {
  whence &= ~AVSEEK_FORCE;
  std::int64_t target = 0;
  switch (whence) {
    case AVSEEK_SIZE: return size;
    case SEEK_SET: target = offset; break;
    case SEEK_CUR: target = pos + offset; break;
    case SEEK_END: target = size + offset; break;
    default: return AVERROR(EINVAL);
  }
  if (target < 0) return AVERROR(EINVAL);
  pos = target;  // past the end is allowed for the writer: the gap is zero-filled by the next write
  return target;
}

ffmpeg::AvioContextPtr make_avio(void* opaque, bool writable, int (*read)(void*, std::uint8_t*, int),
                                 int (*write)(void*, WriteBuffer, int), std::int64_t (*seek)(void*, std::int64_t, int)) {
  auto* buffer = static_cast<unsigned char*>(av_malloc(kAvioBufferSize));
  if (buffer == nullptr) fail(ErrorCode::out_of_memory, "could not allocate an I/O buffer for the in-memory MP4");
  AVIOContext* ctx = avio_alloc_context(buffer, kAvioBufferSize, writable ? 1 : 0, opaque, read, write, seek);
  if (ctx == nullptr) {
    av_free(buffer);
    fail(ErrorCode::out_of_memory, "could not allocate an I/O context for the in-memory MP4");
  }
  return ffmpeg::AvioContextPtr(ctx);
}

class MemoryOutput final : public EncoderOutput {
 public:
  MemoryOutput() : name_("the in-memory MP4") {
    writer_ = make_avio(this, true, nullptr, &MemoryOutput::write, &MemoryOutput::seek_writer);
  }

  void attach(AVFormatContext* mux) override {
    mux->pb = writer_.get();
    mux->flags |= AVFMT_FLAG_CUSTOM_IO;
    mux->opaque = this;
    mux->io_open = &MemoryOutput::open_reader;
    mux->io_close2 = &MemoryOutput::close_reader;
  }

  void commit() override {
    avio_flush(writer_.get());
    if (writer_->error < 0) {
      fail(ErrorCode::out_of_memory, "writing the in-memory MP4 failed: {}", ffmpeg::av_error_string(writer_->error));
    }
    writer_.reset();
    committed_ = true;
  }

  void discard() noexcept override {
    writer_.reset();
    std::vector<std::uint8_t>().swap(bytes_);
  }

  std::vector<std::uint8_t> take_bytes() override {
    if (!committed_) fail(ErrorCode::invalid_argument, "take_buffer() needs finish() first");
    if (taken_) fail(ErrorCode::invalid_argument, "take_buffer() was already called: the MP4 bytes were handed over");
    taken_ = true;
    return std::move(bytes_);
  }

  const std::string& name() const override { return name_; }

 private:
  struct Reader {
    const MemoryOutput* output = nullptr;
    std::int64_t pos = 0;
  };

  static int write(void* opaque, WriteBuffer data, int size) {
    auto* self = static_cast<MemoryOutput*>(opaque);
    try {
      std::size_t end = static_cast<std::size_t>(self->pos_) + static_cast<std::size_t>(size);
      if (end > self->bytes_.size()) self->bytes_.resize(end);
      std::memcpy(self->bytes_.data() + self->pos_, data, static_cast<std::size_t>(size));
      self->pos_ = static_cast<std::int64_t>(end);
      return size;
    } catch (const std::bad_alloc&) {
      return AVERROR(ENOMEM);
    }
  }

  static std::int64_t seek_writer(void* opaque, std::int64_t offset, int whence) {
    auto* self = static_cast<MemoryOutput*>(opaque);
    return seek_in(self->pos_, static_cast<std::int64_t>(self->bytes_.size()), offset, whence);
  }

  static int read(void* opaque, std::uint8_t* data, int size) {
    auto* reader = static_cast<Reader*>(opaque);
    const auto& bytes = reader->output->bytes_;
    auto available = static_cast<std::int64_t>(bytes.size()) - reader->pos;
    if (available <= 0) return AVERROR_EOF;
    int n = static_cast<int>(std::min<std::int64_t>(available, size));
    std::memcpy(data, bytes.data() + reader->pos, static_cast<std::size_t>(n));
    reader->pos += n;
    return n;
  }

  static std::int64_t seek_reader(void* opaque, std::int64_t offset, int whence) {
    auto* reader = static_cast<Reader*>(opaque);
    return seek_in(reader->pos, static_cast<std::int64_t>(reader->output->bytes_.size()), offset, whence);
  }

  // AVFormatContext::io_open: only faststart's read-back reaches here (movenc opens nothing else for
  // plain MP4); any write request means a muxer feature we did not plan for.
  static int open_reader(AVFormatContext* mux, AVIOContext** pb, const char* /*url*/, int flags,
                         AVDictionary** /*options*/) {
    if (flags & AVIO_FLAG_WRITE) return AVERROR(ENOSYS);
    auto* self = static_cast<MemoryOutput*>(mux->opaque);
    try {
      auto reader = std::make_unique<Reader>();
      reader->output = self;
      *pb = make_avio(reader.get(), false, &MemoryOutput::read, nullptr, &MemoryOutput::seek_reader).release();
      reader.release();  // owned by the AVIOContext's opaque now, freed in close_reader
      return 0;
    } catch (...) {
      return AVERROR(ENOMEM);
    }
  }

  static int close_reader(AVFormatContext* /*mux*/, AVIOContext* pb) {
    if (pb == nullptr) return 0;
    delete static_cast<Reader*>(pb->opaque);
    ffmpeg::AvioContextPtr owned(pb);
    return 0;
  }

  std::string name_;
  std::vector<std::uint8_t> bytes_;
  std::int64_t pos_ = 0;
  ffmpeg::AvioContextPtr writer_;
  bool committed_ = false;
  bool taken_ = false;
};

}  // namespace

std::unique_ptr<EncoderOutput> make_memory_output() { return std::make_unique<MemoryOutput>(); }

}  // namespace talkgen::media
