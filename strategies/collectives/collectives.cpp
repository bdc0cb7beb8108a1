#include "strategies/collectives/collectives.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "core/errors.hpp"
#include "strategies/collectives/algorithm.hpp"

namespace dmlsim::strategies {

void validate_algorithm(Collective c, std::string_view algorithm, int n, const CollectiveOptions& options) {
  if (auto problem = algorithm_problem(c, algorithm, n, options)) throw core::ValueError(problem->message);
}

core::SchedulePtr make_schedule(Collective c, std::string_view algorithm, int n, int index,
                                std::uint64_t count, std::uint32_t element_bytes,
                                const CollectiveOptions& options) {
  validate_algorithm(c, algorithm, n, options);
  return find_algorithm(c, algorithm)->build(c, n, index, count, element_bytes, options);
}

}  // namespace dmlsim::strategies
