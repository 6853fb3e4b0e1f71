#include "base/random.h"

#include <sstream>

namespace tg {

std::string Rng::SaveState() const {
  std::ostringstream out;
  out << engine_;
  return out.str();
}

bool Rng::RestoreState(const std::string& text) {
  std::istringstream in(text);
  std::mt19937_64 engine;
  in >> engine;
  if (in.fail()) return false;
  in >> std::ws;
  if (!in.eof()) return false;  // trailing text: not a state we wrote
  engine_ = engine;
  return true;
}

}  // namespace tg
