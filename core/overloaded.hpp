#pragma once
// The lambdas of one std::visit as one callable: std::visit(Overloaded{[](A&) {...}, [](B&) {...}}, v).

namespace dmlsim::core {

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
// (clang 14, which builds the fuzz targets, does not deduce aggregates' template arguments.)
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

}  // namespace dmlsim::core
