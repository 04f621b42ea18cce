#include "addon.h"

#include <cstring>

void ThrowSyscallError(Napi::Env env, int err, const char* syscall, const std::string& message) {
  Napi::Error error = Napi::Error::New(env, message);
  // strerrorname_np is glibc >= 2.32; it returns null only for numbers that are not errnos.
  const char* name = strerrorname_np(err);
  error.Set("code", Napi::String::New(env, name != nullptr ? name : "E" + std::to_string(err)));
  error.Set("syscall", Napi::String::New(env, syscall));
  throw error;
}

void ThrowErrno(Napi::Env env, int err, const char* syscall, const std::string& subject) {
  // strerrordesc_np, unlike strerror, never writes a shared buffer, so worker threads are safe.
  const char* description = strerrordesc_np(err);
  ThrowSyscallError(env, err, syscall,
                    std::string(syscall) + "(" + subject + "): " +
                        (description != nullptr ? description : "Unknown error " + std::to_string(err)));
}
