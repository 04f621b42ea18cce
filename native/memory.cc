#include "addon.h"

#include <cerrno>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <malloc.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

Napi::Value MapShared(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string path = info[0].As<Napi::String>();
  const size_t bytes = static_cast<size_t>(info[1].As<Napi::Number>().Int64Value());

  // Created exclusively when new; an existing file is opened without following a symlink
  // and must be the engine's own, so that nobody else can read or plant what is mapped.
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  const bool created = fd >= 0;
  if (!created && errno == EEXIST) fd = open(path.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) ThrowErrno(env, errno, "open", path);
  auto fail = [&](const char* syscall) {
    const int err = errno;
    close(fd);
    ThrowErrno(env, err, syscall, path);
  };
  // The umask may have taken bits from 0600; the check below wants exactly 0600.
  if (created && fchmod(fd, 0600) < 0) fail("fchmod");
  struct stat status;
  if (fstat(fd, &status) < 0) fail("fstat");
  const char* unsafe = nullptr;
  if (!S_ISREG(status.st_mode)) {
    unsafe = "not a regular file";
  } else if (status.st_uid != geteuid()) {
    unsafe = "owned by another user";
  } else if ((status.st_mode & 07777) != 0600) {
    unsafe = "mode is not 0600";
  }
  if (unsafe != nullptr) {
    close(fd);
    char mode[8];
    snprintf(mode, sizeof mode, "%04o", status.st_mode & 07777);
    ThrowSyscallError(env, EPERM, "fstat",
                      path + " is " + unsafe + " (uid " + std::to_string(status.st_uid) + ", mode " + mode +
                          "); the engine maps only files of its own uid with mode 0600");
  }
  // Only ever grow: a ring file that is mapped smaller than it is may still hold unread data.
  if (static_cast<size_t>(status.st_size) < bytes && ftruncate(fd, static_cast<off_t>(bytes)) < 0) fail("ftruncate");
  void* data = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (data == MAP_FAILED) fail("mmap");
  // The mapping holds its own reference to the file, so the descriptor is not needed any more.
  close(fd);
  return Napi::ArrayBuffer::New(env, data, bytes, [bytes](Napi::Env, void* mapped) { munmap(mapped, bytes); });
}

Napi::Value AllocAligned(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const size_t bytes = static_cast<size_t>(info[0].As<Napi::Number>().Int64Value());
  const size_t alignment = static_cast<size_t>(info[1].As<Napi::Number>().Int64Value());
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  if (alignment <= page) {
    // Anonymous pages are zero and page-aligned, and cost nothing until first written: a
    // vault's multi-MiB write buffer is not resident while the vault is idle.
    void* mapped = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mapped == MAP_FAILED) ThrowErrno(env, errno, "mmap", std::to_string(bytes));
    return Napi::ArrayBuffer::New(env, mapped, bytes, [bytes](Napi::Env, void* memory) { munmap(memory, bytes); });
  }
  void* data = nullptr;
  // posix_memalign reports failure through its return value, not errno.
  const int err = posix_memalign(&data, alignment, bytes);
  if (err != 0) ThrowErrno(env, err, "posix_memalign", std::to_string(bytes) + ", " + std::to_string(alignment));
  // JS code assumes a fresh ArrayBuffer is zeroed; heap memory would also leak old contents.
  std::memset(data, 0, bytes);
  return Napi::ArrayBuffer::New(env, data, bytes, [](Napi::Env, void* memory) { std::free(memory); });
}

Napi::Value ReleasePages(const Napi::CallbackInfo& info) {
  // A range of a shared tmpfs mapping whose contents are no longer needed: MADV_REMOVE frees
  // the pages (and their charge to the memory cgroup) in every process that maps them; the
  // range reads as zeros afterwards. The caller passes page-aligned ranges it owns.
  Napi::Env env = info.Env();
  Napi::Uint8Array view = info[0].As<Napi::Uint8Array>();
  const size_t offset = static_cast<size_t>(info[1].As<Napi::Number>().Int64Value());
  const size_t bytes = static_cast<size_t>(info[2].As<Napi::Number>().Int64Value());
  if (madvise(view.Data() + offset, bytes, MADV_REMOVE) < 0) ThrowErrno(env, errno, "madvise", "MADV_REMOVE");
  return env.Undefined();
}

Napi::Value TrimMalloc(const Napi::CallbackInfo& info) {
  // glibc keeps freed heap memory in its arenas for reuse; this hands what it can back to
  // the kernel. It returns whether anything was released, and cannot fail.
  return Napi::Boolean::New(info.Env(), malloc_trim(0) == 1);
}
