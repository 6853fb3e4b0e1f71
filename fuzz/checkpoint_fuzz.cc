// LoadCheckpoint on arbitrary bytes into a small model (two parameters, f32 and f64) with
// and without an Adam optimizer: all or nothing, and never a crash. A load that fails must
// leave the model's values untouched.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "fuzz/scratch_file.h"
#include "graph/parameter.h"
#include "models/checkpoint.h"
#include "models/optimizers.h"
#include "models/safetensors.h"

namespace {

void Require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "checkpoint fuzz: %s\n", what);
    std::abort();
  }
}

// The parameters' values and the optimizer's state as raw bytes, to see whether a load
// changed them.
std::vector<std::byte> Snapshot(const tg::ParameterStore& store, tg::Optimizer& optimizer) {
  std::vector<tg::Tensor> tensors;
  for (const tg::Parameter& p : store.parameters()) tensors.push_back(p.value());
  for (auto& [name, tensor] : optimizer.StateTensors()) tensors.push_back(tensor);
  std::vector<std::byte> out;
  for (const tg::Tensor& t : tensors) {
    const auto* bytes = static_cast<const std::byte*>(t.raw());
    out.insert(out.end(), bytes, bytes + t.num_bytes());
  }
  return out;
}

// Loads `path` into a fresh model; a failed load changes nothing.
void LoadInto(const std::string& path, bool with_optimizer) {
  tg::ParameterStore store({.seed = 1});
  Require(store.Add("w", tg::Shape{2, 3}, tg::Init::Uniform(-1.0, 1.0)).ok(), "Add w");
  Require(store.Add("b", tg::Shape{3}, tg::Init::Uniform(-1.0, 1.0), tg::DType::kF64).ok(), "Add b");
  absl::StatusOr<tg::Adam> adam = tg::Adam::Create(store);
  Require(adam.ok(), "Adam::Create");
  const std::vector<std::byte> before = Snapshot(store, *adam);
  absl::Status s = tg::LoadCheckpoint(path, store, with_optimizer ? &*adam : nullptr);
  if (!s.ok()) Require(Snapshot(store, *adam) == before, "a failed load changed the model");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = tg::fuzz::ScratchPath("checkpoint.safetensors");
  tg::fuzz::WriteScratch(path, data, size);
  LoadInto(path, /*with_optimizer=*/false);
  LoadInto(path, /*with_optimizer=*/true);
  return 0;
}
