#include "models/recurrent_options.h"

#include "fmt/format.h"

namespace tg {

std::string RecurrentParamName(std::string_view prefix, std::string_view what, int layer,
                               bool reverse) {
  return fmt::format("{}.{}_l{}{}", prefix, what, layer, reverse ? "_reverse" : "");
}

RecurrentOptions RecurrentOptions::WithDefaultPrefix(std::string_view cell_name) const {
  RecurrentOptions o = *this;
  if (o.prefix.empty()) o.prefix = std::string(cell_name);
  return o;
}

std::string RecurrentOptions::ParamName(std::string_view what) const {
  return RecurrentParamName(prefix, what, layer, reverse);
}

}  // namespace tg
