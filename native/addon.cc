#include "addon.h"

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("listenReusePort", Napi::Function::New(env, ListenReusePort, "listenReusePort"));
  exports.Set("probeBind", Napi::Function::New(env, ProbeBind, "probeBind"));
  exports.Set("listenUnix", Napi::Function::New(env, ListenUnix, "listenUnix"));
  exports.Set("localPort", Napi::Function::New(env, LocalPort, "localPort"));
  exports.Set("peerCred", Napi::Function::New(env, PeerCred, "peerCred"));
  exports.Set("mapShared", Napi::Function::New(env, MapShared, "mapShared"));
  exports.Set("allocAligned", Napi::Function::New(env, AllocAligned, "allocAligned"));
  exports.Set("trimMalloc", Napi::Function::New(env, TrimMalloc, "trimMalloc"));
  exports.Set("releasePages", Napi::Function::New(env, ReleasePages, "releasePages"));
  exports.Set("openDirect", Napi::Function::New(env, OpenDirect, "openDirect"));
  exports.Set("pwrite", Napi::Function::New(env, Pwrite, "pwrite"));
  exports.Set("pread", Napi::Function::New(env, Pread, "pread"));
  exports.Set("fdatasync", Napi::Function::New(env, Fdatasync, "fdatasync"));
  exports.Set("syncFileRange", Napi::Function::New(env, SyncFileRange, "syncFileRange"));
  exports.Set("fadviseDontNeed", Napi::Function::New(env, FadviseDontNeed, "fadviseDontNeed"));
  exports.Set("mkfifo", Napi::Function::New(env, Mkfifo, "mkfifo"));
  exports.Set("dieWithParent", Napi::Function::New(env, DieWithParent, "dieWithParent"));
  exports.Set("tryLockExclusive", Napi::Function::New(env, TryLockExclusive, "tryLockExclusive"));
  exports.Set("watchPriority", Napi::Function::New(env, WatchPriority, "watchPriority"));
  exports.Set("crc32c", Napi::Function::New(env, Crc32c, "crc32c"));
  exports.Set("crc32cSoftware", Napi::Function::New(env, Crc32cSoftware, "crc32cSoftware"));
  return exports;
}

NODE_API_MODULE(gophership_native, Init)
