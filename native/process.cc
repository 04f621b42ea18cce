#include "addon.h"

#include <cerrno>
#include <csignal>
#include <sys/file.h>
#include <sys/prctl.h>
#include <string>

Napi::Value DieWithParent(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  // The kernel sends SIGKILL when the parent exits, even if this process is stuck in a
  // synchronous loop and could never notice the IPC channel closing by itself.
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) ThrowErrno(env, errno, "prctl", "PR_SET_PDEATHSIG");
  return env.Undefined();
}

Napi::Value TryLockExclusive(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int fd = info[0].As<Napi::Number>().Int32Value();
  // An flock is released by the kernel when its holder dies, so a crash never leaves a
  // stale lock behind, unlike a pid file judged by its contents.
  if (flock(fd, LOCK_EX | LOCK_NB) == 0) return Napi::Boolean::New(env, true);
  if (errno == EWOULDBLOCK) return Napi::Boolean::New(env, false);
  ThrowErrno(env, errno, "flock", std::to_string(fd));
}
