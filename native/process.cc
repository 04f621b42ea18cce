#include "addon.h"

#include <cerrno>
#include <csignal>
#include <sys/prctl.h>

Napi::Value DieWithParent(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  // The kernel sends SIGKILL when the parent exits, even if this process is stuck in a
  // synchronous loop and could never notice the IPC channel closing by itself.
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) ThrowErrno(env, errno, "prctl", "PR_SET_PDEATHSIG");
  return env.Undefined();
}
