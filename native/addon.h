// Thin Linux syscall layer for GopherShip. Argument checking lives in
// src/common/native.ts: these functions trust their caller and only turn errno into
// a JS Error carrying `code` (the errno name) and `syscall`.
#pragma once

#include <napi.h>

#include <string>

[[noreturn]] void ThrowSyscallError(Napi::Env env, int err, const char* syscall, const std::string& message);
// Message shape "syscall(subject): strerror", e.g. "open(/x): No such file or directory".
[[noreturn]] void ThrowErrno(Napi::Env env, int err, const char* syscall, const std::string& subject);

Napi::Value ListenReusePort(const Napi::CallbackInfo& info);
Napi::Value ProbeBind(const Napi::CallbackInfo& info);
Napi::Value ListenUnix(const Napi::CallbackInfo& info);
Napi::Value LocalPort(const Napi::CallbackInfo& info);
Napi::Value PeerCred(const Napi::CallbackInfo& info);

Napi::Value MapShared(const Napi::CallbackInfo& info);
Napi::Value AllocAligned(const Napi::CallbackInfo& info);
Napi::Value TrimMalloc(const Napi::CallbackInfo& info);
Napi::Value ReleasePages(const Napi::CallbackInfo& info);

Napi::Value OpenDirect(const Napi::CallbackInfo& info);
Napi::Value Pwrite(const Napi::CallbackInfo& info);
Napi::Value Pread(const Napi::CallbackInfo& info);
Napi::Value Fdatasync(const Napi::CallbackInfo& info);
Napi::Value SyncFileRange(const Napi::CallbackInfo& info);
Napi::Value FadviseDontNeed(const Napi::CallbackInfo& info);
Napi::Value Mkfifo(const Napi::CallbackInfo& info);
Napi::Value DieWithParent(const Napi::CallbackInfo& info);
Napi::Value TryLockExclusive(const Napi::CallbackInfo& info);
Napi::Value WatchPriority(const Napi::CallbackInfo& info);

Napi::Value Crc32c(const Napi::CallbackInfo& info);
Napi::Value Crc32cSoftware(const Napi::CallbackInfo& info);
