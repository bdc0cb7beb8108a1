#pragma once
// The few statistics calibration and validation need.
#include <algorithm>
#include <vector>

namespace dmlsim::apps {

inline double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

}  // namespace dmlsim::apps
