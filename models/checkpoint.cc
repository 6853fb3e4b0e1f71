#include "models/checkpoint.h"

#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_join.h"
#include "fmt/format.h"
#include "base/status_macros.h"

namespace tg {
namespace {

constexpr std::string_view kOptimizerPrefix = "optimizer.";
// Every checkpoint's own metadata entries.
const std::pair<const char*, const char*> kLibraryMetadata[] = {{"format", "tapegrad"},
                                                                {"version", "1"}};

// A file tensor matched to where it goes, checked but not yet copied.
struct Assignment {
  const NamedTensor* from = nullptr;
  Tensor to;
};

// f32 and f64 convert into each other (an f32 checkpoint into an f64 store for a gradient
// check); i32 only into i32.
bool Convertible(DType file, DType model) {
  return file == model || (IsFloat(file) && IsFloat(model));
}

template <class From, class To>
void Convert(const NamedTensor& src, const Tensor& dst) {
  std::span<const From> in = src.values<From>();
  To* out = dst.data<To>();
  for (size_t i = 0; i < in.size(); ++i) out[i] = static_cast<To>(in[i]);
}

void CopyConverted(const NamedTensor& src, const Tensor& dst) {
  if (src.dtype == dst.dtype()) {
    if (!src.bytes.empty()) std::memcpy(dst.raw(), src.bytes.data(), src.bytes.size());
  } else if (src.dtype == DType::kF32) {
    Convert<float, double>(src, dst);
  } else {
    Convert<double, float>(src, dst);
  }
}

// "'a', 'b', 'c' and 3 more": bounded, so a wrong file does not print a thousand names.
std::string NameList(const std::vector<std::string>& names) {
  constexpr size_t kMaxShown = 8;
  std::vector<std::string> quoted;
  for (size_t i = 0; i < names.size() && i < kMaxShown; ++i) quoted.push_back("'" + names[i] + "'");
  std::string out = absl::StrJoin(quoted, ", ");
  if (names.size() > kMaxShown) out += fmt::format(" and {} more", names.size() - kMaxShown);
  return out;
}

}  // namespace

absl::Status SaveCheckpoint(const std::string& path, const ParameterStore& store,
                            Optimizer* optimizer, const CheckpointExtras& extras) {
  std::vector<NamedTensorView> views;
  for (const Parameter& p : store.parameters()) views.push_back({p.name(), p.value()});
  if (optimizer != nullptr) {
    for (auto& [name, tensor] : optimizer->StateTensors()) views.push_back({name, tensor});
  }
  for (const NamedTensorView& t : extras.tensors) {
    if (!std::string_view(t.name).starts_with(kCheckpointExtraPrefix)) {
      return absl::InvalidArgumentError(fmt::format(
          "cannot write '{}': extra tensor '{}' does not begin with '{}'", path, t.name,
          kCheckpointExtraPrefix));
    }
    views.push_back(t);
  }
  std::map<std::string, std::string> metadata = extras.metadata;
  for (const auto& [key, value] : kLibraryMetadata) {
    if (!metadata.emplace(key, value).second) {
      return absl::InvalidArgumentError(fmt::format(
          "cannot write '{}': metadata key '{}' is the library's own", path, key));
    }
  }
  return WriteSafetensors(path, views, metadata);
}

absl::StatusOr<std::map<std::string, std::string>> ReadCheckpointMetadata(
    const std::string& path) {
  return ReadSafetensorsMetadata(path, "checkpoint");
}

absl::Status LoadCheckpoint(const std::string& path, ParameterStore& store,
                            Optimizer* optimizer, LoadedExtras* extras) {
  TG_ASSIGN_OR_RETURN(SafetensorsFile file, ReadSafetensors(path, "checkpoint"));
  const std::string prefix = fmt::format("checkpoint '{}'", path);
  auto mismatch = [&](const std::string& m) {
    return absl::InvalidArgumentError(fmt::format("{}: {}", prefix, m));
  };

  absl::flat_hash_map<std::string, const NamedTensor*> by_name;
  for (const NamedTensor& t : file.tensors) by_name[t.name] = &t;
  auto find = [&](const std::string& name) -> const NamedTensor* {
    auto it = by_name.find(name);
    return it == by_name.end() ? nullptr : it->second;
  };

  std::vector<Assignment> plan;
  absl::flat_hash_set<std::string> used;
  std::vector<std::string> missing;
  for (const Parameter& p : store.parameters()) {
    const NamedTensor* t = find(p.name());
    if (t == nullptr) {
      missing.push_back(p.name());
      continue;
    }
    if (!Convertible(t->dtype, p.dtype())) {
      return mismatch(fmt::format("parameter '{}' is {} in the file but {} in the model",
                                  p.name(), t->dtype, p.dtype()));
    }
    if (!(t->shape == p.shape())) {
      return mismatch(fmt::format("parameter '{}' has shape {} in the file but {} in the model",
                                  p.name(), t->shape, p.shape()));
    }
    used.insert(p.name());
    plan.push_back({t, p.value()});
  }
  if (!missing.empty()) {
    return mismatch(fmt::format("the model's parameter{} {} {} not in the file",
                                missing.size() > 1 ? "s" : "", NameList(missing),
                                missing.size() > 1 ? "are" : "is"));
  }

  if (optimizer != nullptr) {
    for (auto& [name, tensor] : optimizer->StateTensors()) {
      const NamedTensor* t = find(name);
      if (t == nullptr) {
        missing.push_back(name);
        continue;
      }
      if (!Convertible(t->dtype, tensor.dtype()) ||
          t->num_elements() != tensor.num_elements()) {
        return mismatch(fmt::format(
            "optimizer state '{}' is {} {} in the file but {} {} in the optimizer", name,
            t->dtype, t->shape, tensor.dtype(), tensor.shape()));
      }
      used.insert(name);
      plan.push_back({t, tensor});
    }
    if (!missing.empty()) {
      return mismatch(fmt::format("optimizer state {} not in the file (saved without the "
                                  "optimizer?)",
                                  NameList(missing)));
    }
  }

  std::vector<std::string> extra;
  std::vector<size_t> extra_tensors;  // indices into file.tensors, for `extras`
  for (size_t i = 0; i < file.tensors.size(); ++i) {
    const NamedTensor& t = file.tensors[i];
    if (used.contains(t.name)) continue;
    if (optimizer == nullptr && std::string_view(t.name).starts_with(kOptimizerPrefix)) continue;
    if (std::string_view(t.name).starts_with(kCheckpointExtraPrefix)) {
      extra_tensors.push_back(i);
      continue;
    }
    extra.push_back(t.name);
  }
  if (!extra.empty()) {
    return mismatch(fmt::format("the file has {} that the {} does not: {}",
                                extra.size() > 1 ? "tensors" : "a tensor",
                                optimizer == nullptr ? "model" : "model or optimizer",
                                NameList(extra)));
  }

  // Everything checked: commit. Nothing below can fail.
  for (const Assignment& a : plan) CopyConverted(*a.from, a.to);
  if (extras != nullptr) {
    extras->metadata = std::move(file.metadata);
    extras->tensors.clear();
    for (size_t i : extra_tensors) extras->tensors.push_back(std::move(file.tensors[i]));
  }
  return absl::OkStatus();
}

}  // namespace tg
