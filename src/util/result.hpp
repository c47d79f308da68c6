#pragma once
// Result<T>: tl::expected<T, Error> that the compiler forces callers to look at ([[nodiscard]] plus
// -Werror=unused-result). Only the std::expected subset is used elsewhere, so moving to
// std::expected under C++23 changes this file alone.
#include <tl/expected.hpp>

#include "util/error.hpp"

namespace certpilot::util {

template <class T>
class [[nodiscard]] Result : public tl::expected<T, Error> {
 public:
  using tl::expected<T, Error>::expected;
  Result(tl::expected<T, Error> e) : tl::expected<T, Error>(std::move(e)) {}  // NOLINT: implicit by design
};

using Unexpected = tl::unexpected<Error>;

inline Unexpected fail(Error e) { return Unexpected(std::move(e)); }
inline Unexpected fail(Errc code, std::string message) { return Unexpected(Error(code, std::move(message))); }

// The success value of Result<void>.
inline Result<void> ok() { return {}; }

}  // namespace certpilot::util

// Propagates an error from an expression returning Result<...>, wrapping it with context.
// CERTPILOT_TRY(auto key, load_key(path), "loading account key");
#define CERTPILOT_CONCAT_INNER(a, b) a##b
#define CERTPILOT_CONCAT(a, b) CERTPILOT_CONCAT_INNER(a, b)
#define CERTPILOT_TRY_IMPL(tmp, decl, expr, ctx)                  \
  auto tmp = (expr);                                              \
  if (!tmp) return ::certpilot::util::fail(tmp.error().wrapped(ctx)); \
  decl = std::move(*tmp)
#define CERTPILOT_TRY(decl, expr, ctx) CERTPILOT_TRY_IMPL(CERTPILOT_CONCAT(cp_try_, __LINE__), decl, expr, ctx)
// The same for an expression returning Result<void>.
#define CERTPILOT_TRY_VOID(expr, ctx)                                        \
  do {                                                                       \
    if (auto cp_try_void_ = (expr); !cp_try_void_)                           \
      return ::certpilot::util::fail(cp_try_void_.error().wrapped(ctx));     \
  } while (0)
