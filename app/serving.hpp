#pragma once
// Loading a daemon's models ready to serve (LibTorch; tandem::app_models).

#include "app/models.hpp"
#include "models/model.hpp"

namespace tandem::app {

/// Loads the models of `options`, runs each once at `threads` intra-op threads
/// (oneDNN builds its kernels on first use, per thread count, and the first
/// task should not pay for it) and logs each with its weights fingerprint.
/// Throws like load_models, naming the model.
///
/// All of it runs on a thread of its own that ends before this returns, so
/// the caller (a daemon's main thread) never starts an OpenMP team. The
/// daemons compute on other threads (the edge's compute thread, the cloud's
/// workers), each with its own team; while a second team exists, libgomp
/// counts more threads than cores and its barriers spin 100 rounds instead
/// of 300,000 before they sleep (GOMP_SPINCOUNT's documentation), so every
/// operator's parallel region has to wake the other thread from a futex:
/// measured here, resnet18 at two threads on a worker thread ran 26-29 ms
/// with the loading thread's team alive against 15-16 ms without (one
/// thread: 28 ms). docs/design.md §10.
ModelSet load_serving_models(const ModelOptions& options, int threads);

}  // namespace tandem::app
