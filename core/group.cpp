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

}  // namespace dmlsim::core
