#include "addon.h"

#include <cerrno>
#include <cstdint>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace {

// The smallest logical block size any Linux block device has; devices with 4 KiB sectors
// are stricter still and will answer EINVAL from the syscall itself.
constexpr uint64_t kDirectAlignment = 512;

// Misaligned O_DIRECT transfers fail with a bare EINVAL from the kernel, which does not say
// which of the three rules was broken; checking first gives the caller a usable message.
void CheckDirectAlignment(Napi::Env env, const char* syscall, int fd, const uint8_t* data, uint64_t length,
                          int64_t position) {
  const char* broken = nullptr;
  if (reinterpret_cast<uintptr_t>(data) % kDirectAlignment != 0) {
    broken = "buffer address is not 512-byte aligned (allocate it with allocAligned)";
  } else if (length % kDirectAlignment != 0) {
    broken = "length is not a multiple of 512";
  } else if (static_cast<uint64_t>(position) % kDirectAlignment != 0) {
    broken = "file position is not a multiple of 512";
  }
  if (broken != nullptr) {
    ThrowSyscallError(env, EINVAL, syscall, std::string(syscall) + "(" + std::to_string(fd) + "): O_DIRECT " + broken);
  }
}

}  // namespace

Napi::Value OpenDirect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string path = info[0].As<Napi::String>();
  const bool write = info[1].As<Napi::Boolean>().Value();
  const bool create = info[2].As<Napi::Boolean>().Value();
  const int flags = O_DIRECT | O_CLOEXEC | (write ? O_RDWR : O_RDONLY) | (create ? O_CREAT : 0);
  const int fd = open(path.c_str(), flags, 0600);
  if (fd < 0) ThrowErrno(env, errno, "open", path);
  return Napi::Number::New(env, fd);
}

Napi::Value Pwrite(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int fd = info[0].As<Napi::Number>().Int32Value();
  Napi::Uint8Array buffer = info[1].As<Napi::Uint8Array>();
  const int64_t position = info[2].As<Napi::Number>().Int64Value();
  CheckDirectAlignment(env, "pwrite", fd, buffer.Data(), buffer.ByteLength(), position);
  const ssize_t written = pwrite(fd, buffer.Data(), buffer.ByteLength(), position);
  if (written < 0) ThrowErrno(env, errno, "pwrite", std::to_string(fd));
  return Napi::Number::New(env, static_cast<double>(written));
}

Napi::Value Pread(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int fd = info[0].As<Napi::Number>().Int32Value();
  Napi::Uint8Array buffer = info[1].As<Napi::Uint8Array>();
  const int64_t position = info[2].As<Napi::Number>().Int64Value();
  CheckDirectAlignment(env, "pread", fd, buffer.Data(), buffer.ByteLength(), position);
  const ssize_t got = pread(fd, buffer.Data(), buffer.ByteLength(), position);
  if (got < 0) ThrowErrno(env, errno, "pread", std::to_string(fd));
  return Napi::Number::New(env, static_cast<double>(got));
}

Napi::Value Fdatasync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int fd = info[0].As<Napi::Number>().Int32Value();
  if (fdatasync(fd) < 0) ThrowErrno(env, errno, "fdatasync", std::to_string(fd));
  return env.Undefined();
}

Napi::Value SyncFileRange(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int fd = info[0].As<Napi::Number>().Int32Value();
  const int64_t offset = info[1].As<Napi::Number>().Int64Value();
  const int64_t bytes = info[2].As<Napi::Number>().Int64Value();
  // All three flags together: start writeback and wait for it, including pages that were
  // already in flight, so the range is on the device when this returns (metadata is not).
  const unsigned flags = SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER;
  if (sync_file_range(fd, offset, bytes, flags) < 0) ThrowErrno(env, errno, "sync_file_range", std::to_string(fd));
  return env.Undefined();
}

Napi::Value FadviseDontNeed(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int fd = info[0].As<Napi::Number>().Int32Value();
  const int64_t offset = info[1].As<Napi::Number>().Int64Value();
  const int64_t bytes = info[2].As<Napi::Number>().Int64Value();
  // posix_fadvise reports failure through its return value, not errno.
  const int err = posix_fadvise(fd, offset, bytes, POSIX_FADV_DONTNEED);
  if (err != 0) ThrowErrno(env, err, "posix_fadvise", std::to_string(fd));
  return env.Undefined();
}

Napi::Value Mkfifo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string path = info[0].As<Napi::String>();
  const mode_t mode = static_cast<mode_t>(info[1].As<Napi::Number>().Uint32Value());
  if (mkfifo(path.c_str(), mode) < 0) ThrowErrno(env, errno, "mkfifo", path);
  return env.Undefined();
}
