// TG_RETURN_IF_ERROR(expr): returns the status if it is not OK.
// TG_ASSIGN_OR_RETURN(lhs, expr): unwraps a StatusOr into lhs or returns its error.
#pragma once

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define TG_RETURN_IF_ERROR(expr)                   \
  do {                                             \
    ::absl::Status tg_status_ = (expr);            \
    if (!tg_status_.ok()) return tg_status_;       \
  } while (false)

#define TG_CONCAT_INNER(a, b) a##b
#define TG_CONCAT(a, b) TG_CONCAT_INNER(a, b)

#define TG_ASSIGN_OR_RETURN(lhs, expr) \
  TG_ASSIGN_OR_RETURN_IMPL(TG_CONCAT(tg_statusor_, __LINE__), lhs, expr)

#define TG_ASSIGN_OR_RETURN_IMPL(statusor, lhs, expr) \
  auto statusor = (expr);                             \
  if (!statusor.ok()) return statusor.status();       \
  lhs = std::move(statusor).value()
