#pragma once
// Names the calling thread, so that top -H, perf (the flame graphs of
// bench/overhead_profile.sh) and gdb tell the daemons' threads apart. Linux
// keeps 15 characters; longer names are cut.

#include <pthread.h>

#include <cstring>

namespace tandem::net {

inline void name_this_thread(const char* name) noexcept {
  char cut[16] = {};
  std::memcpy(cut, name, ::strnlen(name, sizeof cut - 1));
  ::pthread_setname_np(::pthread_self(), cut);
}

}  // namespace tandem::net
