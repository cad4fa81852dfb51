#pragma once
// Loading a daemon's models ready to serve (LibTorch; tandem::app_models).

#include "app/models.hpp"
#include "models/model.hpp"

namespace tandem::app {

/// Loads the models of `options`, runs each once (oneDNN builds its kernels on
/// first use, and the first task should not pay for it) and logs each with its
/// weights fingerprint. Throws like load_models, naming the model.
ModelSet load_serving_models(const ModelOptions& options);

}  // namespace tandem::app
