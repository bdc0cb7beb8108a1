#include "core/group.hpp"

#include <fmt/format.h>

#include "core/errors.hpp"

namespace dmlsim::core {

Group Group::strided(int first, int size, int stride) {
  if (size < 1 || stride < 1 || first < 0) {
    throw ValueError(fmt::format("invalid group: first {}, size {}, stride {}", first, size, stride));
  }
  Group g;
  g.first_ = first;
  g.size_ = size;
  g.stride_ = stride;
  return g;
}

Group Group::of(std::vector<int> ranks) {
  if (ranks.empty()) throw ValueError("a group needs at least one rank");
  bool progression = ranks.size() == 1 || ranks[1] > ranks[0];
  for (std::size_t i = 2; progression && i < ranks.size(); ++i)
    progression = ranks[i] - ranks[i - 1] == ranks[1] - ranks[0];
  if (progression && ranks[0] >= 0) {
    return strided(ranks[0], static_cast<int>(ranks.size()), ranks.size() == 1 ? 1 : ranks[1] - ranks[0]);
  }
  auto index = std::make_shared<std::unordered_map<int, int>>();
  for (std::size_t i = 0; i < ranks.size(); ++i) {
    if (!index->emplace(ranks[i], static_cast<int>(i)).second) {
      throw ValueError(fmt::format("rank {} appears twice in a group", ranks[i]));
    }
  }
  Group g;
  g.size_ = static_cast<int>(ranks.size());
  g.ranks_ = std::make_shared<const std::vector<int>>(std::move(ranks));
  g.index_of_rank_ = std::move(index);
  return g;
}

int Group::index_of(int rank) const {
  if (index_of_rank_) {
    const auto it = index_of_rank_->find(rank);
    return it == index_of_rank_->end() ? -1 : it->second;
  }
  const int offset = rank - first_;
  if (offset < 0 || offset % stride_ != 0 || offset / stride_ >= size_) return -1;
  return offset / stride_;
}

bool operator==(const Group& a, const Group& b) {
  if (a.size_ != b.size_) return false;
  if (!a.ranks_ && !b.ranks_) return a.first_ == b.first_ && (a.size_ == 1 || a.stride_ == b.stride_);
  if (a.ranks_ && b.ranks_) return *a.ranks_ == *b.ranks_;
  return false;  // explicit lists are never progressions (Group::of), strided groups always are
}

std::size_t Group::hash() const {
  std::size_t h = std::hash<int>()(size_);
  auto mix = [&h](int v) { h ^= std::hash<int>()(v) + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2); };
  if (!ranks_) {
    mix(first_);
    mix(size_ == 1 ? 1 : stride_);
  } else {
    for (const int r : *ranks_) mix(r);
  }
  return h;
}

}  // namespace dmlsim::core
